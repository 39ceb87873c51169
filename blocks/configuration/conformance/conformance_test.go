package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/skiffd/skiff/blocks/internal/testsvc"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/configuration"
	"github.com/skiffd/skiff/blocks/configuration/memory"
	configredis "github.com/skiffd/skiff/blocks/configuration/redis"
)

func plainClient(t *testing.T) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{testsvc.Redis(t)}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writer changes items the component's own way: the Go API for
// in-memory, plain Redis commands in daprd's layout for Redis.
type writer interface {
	set(key, raw string) // raw is "value||version"
	del(key string)
}

type memWriter struct{ s *memory.Store }

func (w memWriter) set(key, raw string) { w.s.Set(key, memory.ParseValue(raw)) }
func (w memWriter) del(key string)      { w.s.Delete(key) }

type redisWriter struct {
	t *testing.T
	c rueidis.Client
}

func (w redisWriter) set(key, raw string) {
	if err := w.c.Do(context.Background(), w.c.B().Set().Key(key).Value(raw).Build()).Error(); err != nil {
		w.t.Fatal(err)
	}
}

func (w redisWriter) del(key string) {
	if err := w.c.Do(context.Background(), w.c.B().Del().Key(key).Build()).Error(); err != nil {
		w.t.Fatal(err)
	}
}

func forEach(t *testing.T, f func(t *testing.T, s configuration.Store, w writer, prefix string)) {
	t.Run("configuration.in-memory", func(t *testing.T) {
		s, err := memory.New("conf", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f(t, s, memWriter{s}, uniquePrefix())
	})
	t.Run("configuration.redis", func(t *testing.T) {
		addr := testsvc.Redis(t)
		s, err := configredis.New("conf", map[string]string{"redisHost": addr}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := plainClient(t)
		prefix := uniquePrefix()
		t.Cleanup(func() {
			s.Close()
			keys, _ := c.Do(context.Background(), c.B().Keys().Pattern(prefix+"*").Build()).AsStrSlice()
			if len(keys) > 0 {
				_ = c.Do(context.Background(), c.B().Del().Key(keys...).Build()).Error()
			}
			c.Close()
		})
		f(t, s, redisWriter{t, c}, prefix)
	})
}

func uniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "skiff-conf-" + hex.EncodeToString(b[:]) + "-"
}

func TestGet(t *testing.T) {
	forEach(t, func(t *testing.T, s configuration.Store, w writer, p string) {
		w.set(p+"a", "1||v1")
		w.set(p+"b", "2")
		w.set(p+"c", "3||v3||extra")
		w.set(p+"empty", "||v9")
		got, err := s.Get(context.Background(), []string{p + "a", p + "b", p + "c", p + "empty", p + "missing"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]configuration.Item{p + "a": {Value: "1", Version: "v1"}, p + "b": {Value: "2"}, p + "c": {Value: "3", Version: "v3"}}
		if len(got) != len(want) {
			t.Fatalf("got %d items %v, want %v", len(got), got, want)
		}
		for k, it := range want {
			if g := got[k]; g == nil || g.Value != it.Value || g.Version != it.Version {
				t.Errorf("%s: %+v, want %+v", k, g, it)
			}
		}
		all, err := s.Get(context.Background(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if all[p+"a"] == nil || all[p+"c"] == nil {
			t.Errorf("get all lacks our keys")
		}
	})
}

type recorder struct {
	mu  sync.Mutex
	got []configuration.Update
}

func (r *recorder) handle(_ context.Context, u *configuration.Update) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, *u)
}

// wait polls until n updates (whose keys start with prefix) arrived.
func (r *recorder) wait(t *testing.T, prefix string, n int) []configuration.Update {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r.mu.Lock()
		var ours []configuration.Update
		for _, u := range r.got {
			for k := range u.Items {
				if strings.HasPrefix(k, prefix) {
					ours = append(ours, u)
					break
				}
			}
		}
		r.mu.Unlock()
		if len(ours) >= n {
			return ours
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d updates, want %d: %+v", len(ours), n, ours)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSubscribeKeys(t *testing.T) {
	forEach(t, func(t *testing.T, s configuration.Store, w writer, p string) {
		rec := &recorder{}
		id, err := s.Subscribe(context.Background(), []string{p + "a", p + "b"}, nil, rec.handle)
		if err != nil {
			t.Fatal(err)
		}
		// Redis notifications carry no value: the key is re-read when the
		// event arrives, so each change is awaited before the next.
		w.set(p+"other", "x")
		w.set(p+"a", "1||v1")
		rec.wait(t, p, 1)
		w.set(p+"a", "2||v2")
		rec.wait(t, p, 2)
		w.del(p + "a")
		got := rec.wait(t, p, 3)
		if got[0].ID != id {
			t.Errorf("update id %q, want %q", got[0].ID, id)
		}
		if it := got[0].Items[p+"a"]; it == nil || it.Value != "1" || it.Version != "v1" {
			t.Errorf("first update %+v", got[0].Items)
		}
		if it := got[1].Items[p+"a"]; it == nil || it.Value != "2" || it.Version != "v2" {
			t.Errorf("second update %+v", got[1].Items)
		}
		if it, ok := got[2].Items[p+"a"]; !ok || it != nil {
			t.Errorf("delete update %+v, want a null item", got[2].Items)
		}
		for _, u := range got {
			if _, ok := u.Items[p+"other"]; ok {
				t.Errorf("an unwatched key was delivered: %+v", u)
			}
		}
		if err := s.Unsubscribe(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if err := s.Unsubscribe(context.Background(), id); err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("second unsubscribe: %v", err)
		}
		w.set(p+"b", "late")
		time.Sleep(200 * time.Millisecond)
		if n := len(rec.wait(t, p, 3)); n != 3 {
			t.Errorf("%d updates after unsubscribe, want 3", n)
		}
	})
}

func TestSubscribeAll(t *testing.T) {
	forEach(t, func(t *testing.T, s configuration.Store, w writer, p string) {
		rec := &recorder{}
		id, err := s.Subscribe(context.Background(), nil, nil, rec.handle)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Unsubscribe(context.Background(), id)
		w.set(p+"any", "v||1")
		got := rec.wait(t, p, 1)
		if it := got[0].Items[p+"any"]; it == nil || it.Value != "v" || it.Version != "1" {
			t.Errorf("update %+v", got[0].Items)
		}
	})
}

// TestRedisSpecifics: keys of another type are skipped; the keyspace
// channel follows redisDB; a Redis down at startup fails requests, not New.
func TestRedisSpecifics(t *testing.T) {
	addr := testsvc.Redis(t)
	c := plainClient(t)
	defer c.Close()
	p := uniquePrefix()
	ctx := context.Background()
	defer c.Do(ctx, c.B().Del().Key(p+"hash", p+"str").Build())
	_ = c.Do(ctx, c.B().Hset().Key(p+"hash").FieldValue().FieldValue("f", "v").Build()).Error()
	_ = c.Do(ctx, c.B().Set().Key(p+"str").Value("s||1").Build()).Error()
	s, err := configredis.New("conf", map[string]string{"redisHost": addr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(ctx, []string{p + "hash", p + "str"}, nil)
	if err != nil || len(got) != 1 || got[p+"str"] == nil {
		t.Errorf("get with a hash key: %v %v", got, err)
	}

	// redisDB 3: writes in DB 3 are seen, and notifications come from
	// __keyspace@3__.
	s3, err := configredis.New("conf3", map[string]string{"redisHost": addr, "redisDB": "3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	c3, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, SelectDB: 3, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	defer c3.Do(ctx, c3.B().Del().Key(p+"db3").Build())
	rec := &recorder{}
	if _, err := s3.Subscribe(ctx, []string{p + "db3"}, nil, rec.handle); err != nil {
		t.Fatal(err)
	}
	_ = c3.Do(ctx, c3.B().Set().Key(p+"db3").Value("three").Build()).Error()
	if u := rec.wait(t, p, 1); u[0].Items[p+"db3"] == nil || u[0].Items[p+"db3"].Value != "three" {
		t.Errorf("db 3 update %+v", u[0].Items)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	sd, err := configredis.New("down", map[string]string{"redisHost": down, "dialTimeout": "200ms"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	if _, err := sd.Get(ctx, []string{"k"}, nil); err == nil || !strings.Contains(err.Error(), down) {
		t.Errorf("get against nothing: %v", err)
	}
	if _, err := sd.Subscribe(ctx, []string{"k"}, nil, rec.handle); err == nil {
		t.Error("subscribe against nothing succeeded")
	}
}
