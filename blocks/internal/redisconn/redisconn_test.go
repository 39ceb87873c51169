package redisconn

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

func TestParse(t *testing.T) {
	o, err := Parse(map[string]string{
		"redisHost": "h:1", "RedisPassword": "pw", "redisUsername": "u", "redisDB": "2",
		"dialTimeout": "1500", "writeTimeout": "2s", "poolSize": "7", "enableTLS": "true",
	}, "t")
	if err != nil {
		t.Fatal(err)
	}
	c := o.Client
	if o.DB != 2 || c.SelectDB != 2 || c.Password != "pw" || c.Username != "u" || c.InitAddress[0] != "h:1" {
		t.Errorf("parsed %+v", o)
	}
	if c.Dialer.Timeout != 1500*time.Millisecond || c.ConnWriteTimeout != 2*time.Second || c.BlockingPoolSize != 7 || c.TLSConfig == nil {
		t.Errorf("timeouts/pool/tls: %v %v %d %v", c.Dialer.Timeout, c.ConnWriteTimeout, c.BlockingPoolSize, c.TLSConfig)
	}
	if c.RetryDelay == nil || c.RetryDelay(1, rueidis.Completed{}, nil) <= 0 || c.RetryDelay(4, rueidis.Completed{}, nil) != -1 {
		t.Errorf("default maxRetries 3 not applied")
	}
	o, _ = Parse(map[string]string{"redisHost": "h:1", "maxRetries": "0"}, "t")
	if !o.Client.DisableRetry {
		t.Error("maxRetries 0 does not disable retries")
	}
	for _, md := range []map[string]string{
		{}, {"redisHost": "h", "redisDB": "-1"}, {"redisHost": "h", "failover": "true"},
		{"redisHost": "h", "redisType": "ring"}, {"redisHost": "h", "enableTLS": "true", "clientCert": "x", "clientKey": "y"},
	} {
		if _, err := Parse(md, "t"); err == nil {
			t.Errorf("%v accepted", md)
		}
	}
}

func TestLazyConnectBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o, err := Parse(map[string]string{"redisHost": addr, "dialTimeout": "200ms"}, "t")
	if err != nil {
		t.Fatal(err)
	}
	c := New(o, "t", nil, nil)
	defer c.Close()
	start := time.Now()
	for i := 0; i < 20; i++ {
		if _, err := c.Client(context.Background()); !errors.Is(err, ErrNotConnected) {
			t.Fatalf("Client: %v, want ErrNotConnected", err)
		}
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("20 calls against a closed port took %v: backoff not honoured", time.Since(start))
	}
	if c.Ready() == nil {
		t.Error("Ready with nothing listening")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client(context.Background()); err == nil {
		t.Error("Client after Close")
	}
}
