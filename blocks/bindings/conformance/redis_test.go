package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/bindings"
	bindredis "github.com/skiffd/skiff/blocks/bindings/redis"
	stateconf "github.com/skiffd/skiff/blocks/state/conformance"
)

func redisPlain(t *testing.T, addr string) rueidis.Client {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestRedis(t *testing.T) {
	addr := stateconf.Service(t, "Redis", "SKIFF_REDIS_ADDR", "127.0.0.1:6379", "")
	b, err := bindredis.New(map[string]string{"redisHost": addr, "redisDB": "0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	WaitReady(t, b)
	Operations(t, b, bindings.OpCreate, bindings.OpGet, bindings.OpDelete, bindredis.OpIncrement)
	plain := redisPlain(t, addr)
	ctx := context.Background()
	prefix := stateconf.UniqueName("skiff-bind-")
	var keys []string
	key := func(s string) string { keys = append(keys, prefix+s); return prefix + s }
	t.Cleanup(func() {
		for _, k := range keys {
			plain.Do(ctx, plain.B().Del().Key(k).Build())
		}
	})

	t.Run("create get delete", func(t *testing.T) {
		k := key("a")
		if r := MustInvoke(t, b, "create", []byte(`{"n":1}`), map[string]string{"key": k}); r != nil {
			t.Fatalf("create answered %+v, want nothing (204)", r)
		}
		// daprd's layout: the request's JSON data, a plain string.
		if v, err := plain.Do(ctx, plain.B().Get().Key(k).Build()).ToString(); err != nil || v != `{"n":1}` {
			t.Fatalf("plain GET = %q, %v", v, err)
		}
		r := MustInvoke(t, b, "get", nil, map[string]string{"key": k})
		if r == nil || string(r.Data) != `{"n":1}` {
			t.Fatalf("get = %+v", r)
		}
		MustInvoke(t, b, "delete", nil, map[string]string{"key": k})
		if n, _ := plain.Do(ctx, plain.B().Exists().Key(k).Build()).AsInt64(); n != 0 {
			t.Fatal("key still there after delete")
		}
		// A missing key: an empty answer, not an error (daprd).
		r = MustInvoke(t, b, "get", nil, map[string]string{"key": k})
		if r == nil || len(r.Data) != 0 {
			t.Fatalf("get of a missing key = %+v, want an empty response", r)
		}
	})

	t.Run("interop: a value written as daprd does", func(t *testing.T) {
		k := key("d")
		if err := plain.Do(ctx, plain.B().Set().Key(k).Value(`"hello"`).Build()).Error(); err != nil {
			t.Fatal(err)
		}
		r := MustInvoke(t, b, "get", nil, map[string]string{"key": k, "delete": "true"})
		if string(r.Data) != `"hello"` {
			t.Fatalf("get = %q", r.Data)
		}
		if n, _ := plain.Do(ctx, plain.B().Exists().Key(k).Build()).AsInt64(); n != 0 {
			t.Fatal("get with delete=true left the key")
		}
	})

	t.Run("ttl", func(t *testing.T) {
		k := key("t")
		MustInvoke(t, b, "create", []byte(`"x"`), map[string]string{"key": k, "ttlInSeconds": "100"})
		if ttl, _ := plain.Do(ctx, plain.B().Ttl().Key(k).Build()).AsInt64(); ttl <= 0 || ttl > 100 {
			t.Fatalf("TTL %d, want (0,100]", ttl)
		}
		for _, bad := range []string{"abc", "0", "-1"} {
			k2 := key("bad" + bad)
			if _, err := Invoke(t, b, "create", []byte(`"x"`), map[string]string{"key": k2, "ttlInSeconds": bad}); err == nil {
				t.Fatalf("ttlInSeconds %q accepted", bad)
			}
			if n, _ := plain.Do(ctx, plain.B().Exists().Key(k2).Build()).AsInt64(); n != 0 {
				t.Fatalf("a refused create (ttlInSeconds %q) wrote its key", bad)
			}
		}
	})

	t.Run("increment", func(t *testing.T) {
		k := key("i")
		MustInvoke(t, b, "increment", nil, map[string]string{"key": k})
		MustInvoke(t, b, "increment", nil, map[string]string{"key": k, "ttlInSeconds": "50"})
		if v, _ := plain.Do(ctx, plain.B().Get().Key(k).Build()).ToString(); v != "2" {
			t.Fatalf("value %q after two increments", v)
		}
		if ttl, _ := plain.Do(ctx, plain.B().Ttl().Key(k).Build()).AsInt64(); ttl <= 0 {
			t.Fatalf("TTL %d after increment with ttlInSeconds", ttl)
		}
		// Incrementing a non-number is Redis's error, passed on.
		k2 := key("s")
		MustInvoke(t, b, "create", []byte(`"text"`), map[string]string{"key": k2})
		if _, err := Invoke(t, b, "increment", nil, map[string]string{"key": k2}); err == nil {
			t.Fatal("increment of a string succeeded")
		}
	})

	t.Run("missing key", func(t *testing.T) {
		for _, op := range []string{"create", "get", "delete", "increment"} {
			_, err := Invoke(t, b, op, []byte(`1`), nil)
			if err == nil || err.Error() != "redis binding: missing key in request metadata" {
				t.Fatalf("%s without key: %v", op, err)
			}
		}
	})
}

func TestRedisDown(t *testing.T) {
	b, err := bindredis.New(map[string]string{"redisHost": DeadAddr(), "dialTimeout": "500ms"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Ready() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	Down(t, b, "get", map[string]string{"key": "k"})
}

func TestRedisBadMetadata(t *testing.T) {
	for _, md := range []map[string]string{{}, {"redisHost": "x:1", "redisDB": "a"}, {"redisHost": "x:1", "enableTLS": "maybe"}} {
		if b, err := bindredis.New(md, nil); err == nil {
			b.Close()
			t.Fatalf("metadata %v accepted", md)
		}
	}
}
