package redis

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/conformance"
)

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(map[string]string{"consumerID": "app", "processingTimeout": "1500", "redeliverInterval": "2s", "maxLenApprox": "10"})
	if err != nil {
		t.Fatal(err)
	}
	if o.ProcessingTimeout != 1500*time.Millisecond || o.RedeliverInterval != 2*time.Second || o.MaxLenApprox != 10 || o.QueueDepth != 100 || o.Concurrency != 10 {
		t.Fatalf("%+v", o)
	}
	for _, bad := range []map[string]string{
		{},
		{"consumerID": "a", "queueDepth": "x"},
		{"consumerID": "a", "processingTimeout": "soon"},
		{"consumerID": "a", "maxLenApprox": "-1"},
	} {
		if _, err := ParseOptions(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func client(t *testing.T) (rueidis.Client, string) {
	addr := conformance.Service(t, "SKIFF_REDIS_ADDR", "Redis")
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(c.Close)
	return c, addr
}

// TestLayoutAndPending: entries carry data and metadata as daprd writes
// them; an entry read but not acknowledged by a killed run (left in the
// consumer's PEL) is delivered first by the next run.
func TestLayoutAndPending(t *testing.T) {
	c, addr := client(t)
	ctx := context.Background()
	topic := conformance.Topic("skiff-unit")
	defer c.Do(ctx, c.B().Del().Key(topic).Build())
	md := map[string]string{"redisHost": addr, "consumerID": "g1", "maxLenApprox": "1000"}
	s, err := New("ps", md, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []string{`{"a":1}`, `{"a":2}`} {
		if err := s.Publish(ctx, &pubsub.PublishRequest{Topic: topic, Data: []byte(d), Metadata: map[string]string{"i": string(rune('0' + i))}}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	entries, err := c.Do(ctx, c.B().Xrange().Key(topic).Start("-").End("+").Build()).AsXRange()
	if err != nil || len(entries) != 2 {
		t.Fatalf("XRANGE: %v %v", entries, err)
	}
	if entries[0].FieldValues["data"] != `{"a":1}` || entries[0].FieldValues["metadata"] != `{"i":"0"}` {
		t.Fatalf("entry layout: %v", entries[0].FieldValues)
	}
	// A previous run read the first entry and died before acknowledging it.
	c.Do(ctx, c.B().XgroupCreate().Key(topic).Group("g1").Id("0").Build())
	if err := c.Do(ctx, c.B().Xreadgroup().Group("g1", "g1").Count(1).Streams().Key(topic).Id(">").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	s, err = New("ps", md, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := make(chan string, 4)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := s.Subscribe(sctx, pubsub.SubscribeRequest{Topic: topic}, func(_ context.Context, m *pubsub.Message) error {
		got <- string(m.Data) + m.Metadata["i"]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"a":1}0`, `{"a":2}1`} {
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("got %s, want %s", g, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no delivery of %s", want)
		}
	}
	pollPending(t, c, topic)
}

func pollPending(t *testing.T, c rueidis.Client, topic string) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		arr, err := c.Do(context.Background(), c.B().Xpending().Key(topic).Group("g1").Build()).ToArray()
		if err == nil && len(arr) > 0 {
			if n, _ := arr[0].AsInt64(); n == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("entries still pending after delivery: %v %v", arr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// With Redis unreachable an asynchronous publish fails (the caller answers
// 500) rather than waiting for the publisher's 30 s bound.
func TestPublishAsyncRedisDown(t *testing.T) {
	s, err := New("down", map[string]string{"redisHost": "127.0.0.1:1", "consumerID": "app"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	errs := make(chan error, 2)
	for range 2 {
		s.PublishAsync(&pubsub.PublishRequest{Topic: "t", Data: []byte(`{}`)}, func(err error) { errs <- err })
	}
	for range 2 {
		select {
		case err := <-errs:
			if err == nil {
				t.Fatal("publish to an unreachable Redis succeeded")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("publish to an unreachable Redis never completed")
		}
	}
}
