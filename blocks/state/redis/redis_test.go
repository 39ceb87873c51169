package redis

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/state"
)

func TestParseMetadata(t *testing.T) {
	m, err := ParseMetadata(map[string]string{
		"redisHost": "127.0.0.1:6379", "redisPassword": "pw", "redisUsername": "u", "redisDB": "3",
		"enableTLS": "true", "maxRetries": "-1", "maxRetryBackoff": "500", "poolSize": "20",
		"ttlInSeconds": "60", "dialTimeout": "2s", "actorStateStore": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Password != "pw" || m.Username != "u" || m.DB != 3 || !m.EnableTLS || m.MaxRetries != -1 ||
		m.MaxRetryBackoff != 500*time.Millisecond || m.PoolSize != 20 || m.TTL == nil || *m.TTL != 60 || m.DialTimeout != 2*time.Second {
		t.Fatalf("%+v", m)
	}
	o := m.ClientOption()
	if o.SelectDB != 3 || o.TLSConfig == nil || !o.DisableRetry || o.BlockingPoolSize != 20 || !o.DisableCache {
		t.Fatalf("%+v", o)
	}
	for _, bad := range []map[string]string{
		{},
		{"redisHost": "h:1", "redisDB": "x"},
		{"redisHost": "h:1", "enableTLS": "maybe"},
		{"redisHost": "h:1", "ttlInSeconds": "1.5"},
		{"redisHost": "h:1", "dialTimeout": "soon"},
		{"redisHost": "h:1", "failover": "true"},
	} {
		if _, err := ParseMetadata(bad); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

func testStore(t *testing.T) *Store {
	t.Helper()
	addr := os.Getenv("SKIFF_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	md, err := ParseMetadata(map[string]string{"redisHost": addr})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), md)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func getAsync(s *Store, key string) (state.GetResponse, error) {
	type result struct {
		r   state.GetResponse
		err error
	}
	ch := make(chan result, 1)
	s.GetAsync(key, func(r state.GetResponse, err error) {
		// Copy: the data may alias the reply (state.BatchReader).
		r.Data = append([]byte(nil), r.Data...)
		ch <- result{r, err}
	})
	res := <-ch
	return res.r, res.err
}

// The batch readers' own connections come back after Redis drops them.
func TestBatchReadersReconnect(t *testing.T) {
	s := testStore(t)
	ctx := context.Background()
	key := fmt.Sprintf("skiff-test-reconnect-%d", time.Now().UnixNano())
	c := s.Client()
	if err := c.Do(ctx, c.B().Hset().Key(key).FieldValue().FieldValue("data", `"v"`).FieldValue("version", "2").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	defer c.Do(ctx, c.B().Del().Key(key).Build())
	if r, err := getAsync(s, key); err != nil || string(r.Data) != `"v"` || r.ETag != "2" {
		t.Fatalf("before: %+v %v", r, err)
	}
	for _, r := range s.readers {
		if r.client == s.client {
			t.Fatal("a standalone store's reader shares the store's client")
		}
		id, err := r.client.Do(ctx, r.client.B().ClientId().Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Do(ctx, c.B().ClientKill().Id(id).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	var r state.GetResponse
	var err error
	for range 20 {
		if r, err = getAsync(s, key); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || string(r.Data) != `"v"` || r.ETag != "2" {
		t.Fatalf("after the kill: %+v %v", r, err)
	}
	if r, err := getAsync(s, key+"-missing"); err != nil || r.Found {
		t.Fatalf("missing key: %+v %v", r, err)
	}
}
