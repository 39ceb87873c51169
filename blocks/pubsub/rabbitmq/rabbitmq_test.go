package rabbitmq

import (
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(map[string]string{"connectionString": "amqp://localhost", "durable": "true", "deliveryMode": "2", "prefetchCount": "10", "requeueInFailure": "true", "reconnectWait": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Durable || !o.DeleteWhenUnused || o.DeliveryMode != 2 || o.PrefetchCount != 10 || !o.RequeueInFailure || o.ReconnectWait != time.Second || o.ExchangeKind != "fanout" {
		t.Fatalf("%+v", o)
	}
	for _, bad := range []map[string]string{
		{},
		{"connectionString": "amqp://x", "deliveryMode": "3"},
		{"connectionString": "amqp://x", "exchangeKind": "round"},
		{"connectionString": "amqp://x", "durable": "perhaps"},
	} {
		if _, err := ParseOptions(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if _, err := New("x", map[string]string{"connectionString": "http://nope"}, nil); err == nil {
		t.Error("a non-AMQP URL was accepted")
	}
}
