package memory

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/state"
)

var ctx = context.Background()

func newStore(t testing.TB) (*Store, *atomic.Int64) {
	t.Helper()
	s, err := New("mem", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var clock atomic.Int64
	clock.Store(time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC).UnixNano())
	s.now = clock.Load
	return s, &clock
}

func get(t testing.TB, s *Store, key string) state.GetResponse {
	t.Helper()
	r, err := s.Get(ctx, &state.GetRequest{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSetGetCopiesValue(t *testing.T) {
	s, _ := newStore(t)
	buf := []byte(`{"a":1}`)
	if err := s.Set(ctx, &state.SetRequest{Key: "k", Value: buf}); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXX") // the caller reuses its buffer
	r := get(t, s, "k")
	if !r.Found || string(r.Data) != `{"a":1}` || len(r.ETag) != 36 || r.Metadata != nil {
		t.Fatalf("%+v", r)
	}
	out, info, found := s.AppendGet([]byte("pre:"), []byte("k"))
	if !found || string(out) != `pre:{"a":1}` || string(info.ETag) != r.ETag || info.Expire != 0 {
		t.Fatalf("AppendGet: %q %+v %v", out, info, found)
	}
	if _, _, found := s.AppendGet(nil, []byte("none")); found {
		t.Fatal("found a missing key")
	}
}

func TestTTLExpiry(t *testing.T) {
	s, clock := newStore(t)
	md := map[string]string{"ttlInSeconds": "2"}
	if err := s.Set(ctx, &state.SetRequest{Key: "k", Value: []byte("1"), Metadata: md}); err != nil {
		t.Fatal(err)
	}
	r := get(t, s, "k")
	if r.Metadata["ttlExpireTime"] != "2025-01-02T03:04:07Z" {
		t.Fatalf("expire time %q", r.Metadata["ttlExpireTime"])
	}
	clock.Add(int64(2 * time.Second)) // exactly at the deadline: still there
	if !get(t, s, "k").Found {
		t.Fatal("expired too early")
	}
	clock.Add(1)
	if get(t, s, "k").Found {
		t.Fatal("not expired")
	}
	if s.Len() != 0 {
		t.Fatal("lazy expiry did not delete")
	}
	// An expired key is absent for etag checks and first-write.
	_ = s.Set(ctx, &state.SetRequest{Key: "f", Value: []byte("1"), Metadata: md})
	clock.Add(int64(3 * time.Second))
	if err := s.Set(ctx, &state.SetRequest{Key: "f", Value: []byte("2"), Options: state.Options{Concurrency: state.FirstWrite}}); err != nil {
		t.Fatalf("first-write over expired: %v", err)
	}
	// -1 (and no TTL) clears a TTL on overwrite.
	_ = s.Set(ctx, &state.SetRequest{Key: "c", Value: []byte("1"), Metadata: md})
	_ = s.Set(ctx, &state.SetRequest{Key: "c", Value: []byte("2"), Metadata: map[string]string{"ttlInSeconds": "-1"}})
	clock.Add(int64(time.Hour))
	if r := get(t, s, "c"); !r.Found || r.Metadata != nil {
		t.Fatalf("ttl not cleared: %+v", r)
	}
}

func TestSweeper(t *testing.T) {
	s, clock := newStore(t)
	for i := range 100 {
		_ = s.Set(ctx, &state.SetRequest{Key: strconv.Itoa(i), Value: []byte("1"), Metadata: map[string]string{"ttlInSeconds": "1"}})
	}
	_ = s.Set(ctx, &state.SetRequest{Key: "keep", Value: []byte("1")})
	clock.Add(int64(2 * time.Second))
	s.sweepOnce()
	if n := s.Len(); n != 1 {
		t.Fatalf("%d keys after sweep", n)
	}
}

func TestCloseStopsSweeper(t *testing.T) {
	s, err := New("mem", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Set(ctx, &state.SetRequest{Key: "k", Value: []byte("1")})
	done := make(chan struct{})
	go func() { s.Close(); s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
	if s.Len() != 0 {
		t.Fatal("items kept after Close")
	}
}

func TestETagErrors(t *testing.T) {
	s, _ := newStore(t)
	err := s.Set(ctx, &state.SetRequest{Key: "k", Value: []byte("1"), ETag: "x"})
	var et *state.ETagError
	if !errors.As(err, &et) || et.Kind != state.ETagMismatch || err.Error() != "possible etag mismatch. error from state store: state not exist or expired for key=k" {
		t.Fatalf("%v", err)
	}
	_ = s.Set(ctx, &state.SetRequest{Key: "k", Value: []byte("1")})
	if err := s.Delete(ctx, &state.DeleteRequest{Key: "k", ETag: "x"}); !errors.As(err, &et) {
		t.Fatalf("delete: %v", err)
	}
	if err := s.Set(ctx, &state.SetRequest{Key: "k", Options: state.Options{Consistency: "weird"}}); err == nil || err.Error() != "unrecognized consistency model 'weird'" {
		t.Fatalf("options: %v", err)
	}
}

// TestMultiAtomicAcrossShards: keys spread over many shards; a failing etag
// at the end leaves every shard untouched.
func TestMultiAtomicAcrossShards(t *testing.T) {
	s, _ := newStore(t)
	var ops []state.Operation
	for i := range 50 {
		ops = append(ops, state.Operation{Set: &state.SetRequest{Key: "k" + strconv.Itoa(i), Value: []byte("1")}})
	}
	_ = s.Set(ctx, &state.SetRequest{Key: "guard", Value: []byte("g")})
	bad := append(ops, state.Operation{Delete: &state.DeleteRequest{Key: "guard", ETag: "wrong"}})
	if err := s.Multi(ctx, &state.TransactionRequest{Operations: bad}); err == nil {
		t.Fatal("etag failure ignored")
	}
	if s.Len() != 1 {
		t.Fatalf("partial transaction: %d keys", s.Len())
	}
	etag := get(t, s, "guard").ETag
	good := append(ops, state.Operation{Delete: &state.DeleteRequest{Key: "guard", ETag: etag}})
	if err := s.Multi(ctx, &state.TransactionRequest{Operations: good}); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 50 || get(t, s, "guard").Found {
		t.Fatalf("transaction not applied: %d", s.Len())
	}
}

// TestMultiConcurrent: transactions moving a unit between keys keep the sum;
// run with -race.
func TestMultiConcurrent(t *testing.T) {
	s, _ := newStore(t)
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	for _, k := range keys {
		_ = s.Set(ctx, &state.SetRequest{Key: k, Value: []byte("100")})
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; {
				from, to := keys[(w+i)%8], keys[(w+3*i+1)%8]
				if from == to {
					i++
					continue
				}
				a, b := get(t, s, from), get(t, s, to)
				va, _ := strconv.Atoi(string(a.Data))
				vb, _ := strconv.Atoi(string(b.Data))
				err := s.Multi(ctx, &state.TransactionRequest{Operations: []state.Operation{
					{Set: &state.SetRequest{Key: from, Value: []byte(strconv.Itoa(va - 1)), ETag: a.ETag}},
					{Set: &state.SetRequest{Key: to, Value: []byte(strconv.Itoa(vb + 1)), ETag: b.ETag}},
				}})
				if err == nil {
					i++
				}
			}
		}()
	}
	wg.Wait()
	sum := 0
	for _, k := range keys {
		v, _ := strconv.Atoi(string(get(t, s, k).Data))
		sum += v
	}
	if sum != 800 {
		t.Fatalf("sum %d", sum)
	}
}

func TestDeleteWithPrefix(t *testing.T) {
	s, _ := newStore(t)
	for _, k := range []string{"app||a", "app||b", "app||x||y", "other||a"} {
		_ = s.Set(ctx, &state.SetRequest{Key: k, Value: []byte("1")})
	}
	n, err := s.DeleteWithPrefix(ctx, "app")
	if err != nil || n != 2 || s.Len() != 2 {
		t.Fatalf("n=%d err=%v len=%d", n, err, s.Len())
	}
}

func TestUUIDFormat(t *testing.T) {
	s, _ := newStore(t)
	seen := map[string]bool{}
	for i := range 1000 {
		_ = s.Set(ctx, &state.SetRequest{Key: strconv.Itoa(i % 10), Value: []byte("1")})
		e := get(t, s, strconv.Itoa(i%10)).ETag
		if len(e) != 36 || e[14] != '4' || e[8] != '-' || seen[e] {
			t.Fatalf("etag %q", e)
		}
		seen[e] = true
	}
}

func TestAppendGetZeroAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	s, _ := newStore(t)
	_ = s.Set(ctx, &state.SetRequest{Key: "app||k", Value: []byte(`{"a":1}`), Metadata: map[string]string{"ttlInSeconds": "60"}})
	dst := make([]byte, 0, 64)
	key := []byte("app||k")
	if n := testing.AllocsPerRun(100, func() { s.AppendGet(dst[:0], key) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func BenchmarkAppendGet(b *testing.B) {
	s, _ := newStore(b)
	_ = s.Set(ctx, &state.SetRequest{Key: "app||k", Value: []byte(`{"a":1}`)})
	dst := make([]byte, 0, 64)
	key := []byte("app||k")
	b.ReportAllocs()
	for b.Loop() {
		s.AppendGet(dst[:0], key)
	}
}

func BenchmarkSet(b *testing.B) {
	s, _ := newStore(b)
	req := &state.SetRequest{Key: "app||k", Value: []byte(`{"a":1}`)}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Set(ctx, req)
	}
}

func BenchmarkSetParallel(b *testing.B) {
	s, _ := newStore(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_ = s.Set(ctx, &state.SetRequest{Key: "app||k" + strconv.Itoa(i&1023), Value: []byte(`{"a":1}`)})
			i++
		}
	})
}
