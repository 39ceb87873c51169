package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/skiffd/skiff/blocks/internal/testsvc"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/state"
)

// Service returns the address of a backend for tests: the environment
// variable env, or def. When addr (host:port) does not accept a connection,
// the test is skipped, or failed when CI=true.
func Service(t testing.TB, name, env, def, addr string) string {
	t.Helper()
	return testsvc.Addr(t, name, env, def, addr)
}

// UniqueName returns a short random name with prefix, for keys and tables.
func UniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// sameValue compares values: JSON by meaning (PostgreSQL's jsonb rewrites
// the text), anything else byte for byte.
func sameValue(got, want []byte) bool {
	if bytes.Equal(got, want) {
		return true
	}
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
		return false
	}
	return reflect.DeepEqual(g, w)
}

// Options tunes the suite to a store.
type Options struct {
	// TTLGranularity is how long after its TTL a key may still be read
	// (Redis: within a second; PostgreSQL: until the next read filters it).
	TTLGranularity time.Duration
}

// Run runs the suite against the store newStore returns (one per test
// function; closed by the suite).
func Run(t *testing.T, newStore func(t *testing.T) state.Store, opts Options) {
	ctx := context.Background()
	prefix := UniqueName("conf-") + "||"
	s := newStore(t)
	t.Cleanup(func() { s.Close() })
	var used []string
	key := func(k string) string {
		used = append(used, prefix+k)
		return prefix + k
	}
	t.Cleanup(func() {
		for _, k := range used {
			_ = s.Delete(ctx, &state.DeleteRequest{Key: k})
		}
	})
	get := func(t *testing.T, k string) state.GetResponse {
		t.Helper()
		r, err := s.Get(ctx, &state.GetRequest{Key: k})
		if err != nil {
			t.Fatalf("get %s: %v", k, err)
		}
		return r
	}
	set := func(t *testing.T, k, v string) string {
		t.Helper()
		if err := s.Set(ctx, &state.SetRequest{Key: k, Value: []byte(v)}); err != nil {
			t.Fatalf("set %s: %v", k, err)
		}
		return get(t, k).ETag
	}
	wantMismatch := func(t *testing.T, err error) {
		t.Helper()
		var et *state.ETagError
		if !errors.As(err, &et) || et.Kind != state.ETagMismatch {
			t.Fatalf("want an etag mismatch, got %v", err)
		}
	}

	t.Run("RoundTrip", func(t *testing.T) {
		values := map[string][]byte{
			"object": []byte(`{"a":1,"b":[true,null,"x"],"c":{"d":"é\"\\"}}`),
			"string": []byte(`"hello world"`),
			"number": []byte(`12345.5`),
			"binary": {0, 1, 2, 0xff, 0xfe, '\n', '"'},
			"array":  []byte(`[1,2,3]`),
		}
		for name, v := range values {
			k := key("rt-" + name)
			if err := s.Set(ctx, &state.SetRequest{Key: k, Value: v}); err != nil {
				t.Fatalf("%s: set: %v", name, err)
			}
			r := get(t, k)
			if !r.Found || !sameValue(r.Data, v) {
				t.Fatalf("%s: got found=%v %q, want %q", name, r.Found, r.Data, v)
			}
			if r.ETag == "" && s.Features().Has(state.FeatureETag) {
				t.Fatalf("%s: no etag", name)
			}
		}
		if r := get(t, key("rt-missing")); r.Found {
			t.Fatalf("missing key found: %+v", r)
		}
	})

	t.Run("ETag", func(t *testing.T) {
		k := key("etag")
		e1 := set(t, k, `1`)
		e2 := set(t, k, `2`)
		if e1 == e2 {
			t.Fatalf("etag did not change: %q", e1)
		}
		err := s.Set(ctx, &state.SetRequest{Key: k, Value: []byte(`3`), ETag: e1})
		wantMismatch(t, err)
		if r := get(t, k); !sameValue(r.Data, []byte(`2`)) {
			t.Fatalf("a refused save changed the value: %s", r.Data)
		}
		if err := s.Set(ctx, &state.SetRequest{Key: k, Value: []byte(`3`), ETag: e2}); err != nil {
			t.Fatalf("save with the current etag: %v", err)
		}
		if r := get(t, k); !sameValue(r.Data, []byte(`3`)) {
			t.Fatalf("got %s", r.Data)
		}
		// last-write ignores the etag.
		err = s.Set(ctx, &state.SetRequest{Key: k, Value: []byte(`4`), ETag: e1, Options: state.Options{Concurrency: state.LastWrite}})
		if err != nil && s.Features().Has(state.FeatureETag) {
			// in-memory checks etags even with last-write, as daprd's does
			wantMismatch(t, err)
		}
	})

	t.Run("FirstWrite", func(t *testing.T) {
		k := key("fw")
		fw := state.Options{Concurrency: state.FirstWrite}
		if err := s.Set(ctx, &state.SetRequest{Key: k, Value: []byte(`"a"`), Options: fw}); err != nil {
			t.Fatalf("first write of a new key: %v", err)
		}
		e := get(t, k).ETag
		err := s.Set(ctx, &state.SetRequest{Key: k, Value: []byte(`"b"`), Options: fw})
		if err == nil {
			t.Fatal("a second first-write save without etag succeeded")
		}
		if err := s.Set(ctx, &state.SetRequest{Key: k, Value: []byte(`"c"`), ETag: e, Options: fw}); err != nil {
			t.Fatalf("first-write with the current etag: %v", err)
		}
		err = s.Set(ctx, &state.SetRequest{Key: k, Value: []byte(`"d"`), ETag: e, Options: fw})
		wantMismatch(t, err)
		if r := get(t, k); !sameValue(r.Data, []byte(`"c"`)) {
			t.Fatalf("got %s", r.Data)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		k := key("del")
		e1 := set(t, k, `1`)
		e2 := set(t, k, `2`)
		wantMismatch(t, s.Delete(ctx, &state.DeleteRequest{Key: k, ETag: e1}))
		if !get(t, k).Found {
			t.Fatal("a refused delete removed the key")
		}
		if err := s.Delete(ctx, &state.DeleteRequest{Key: k, ETag: e2}); err != nil {
			t.Fatalf("delete with the etag: %v", err)
		}
		if get(t, k).Found {
			t.Fatal("deleted key still found")
		}
		set(t, k, `3`)
		if err := s.Delete(ctx, &state.DeleteRequest{Key: k}); err != nil {
			t.Fatalf("delete without etag: %v", err)
		}
		if err := s.Delete(ctx, &state.DeleteRequest{Key: k}); err != nil {
			t.Fatalf("delete of a missing key: %v", err)
		}
	})

	t.Run("Bulk", func(t *testing.T) {
		var sets []state.SetRequest
		var gets []state.GetRequest
		for i := range 20 {
			k := key("bulk-" + strconv.Itoa(i))
			sets = append(sets, state.SetRequest{Key: k, Value: []byte(strconv.Itoa(i * 10))})
			gets = append(gets, state.GetRequest{Key: k})
		}
		gets = append(gets, state.GetRequest{Key: key("bulk-missing")})
		if err := s.BulkSet(ctx, sets); err != nil {
			t.Fatalf("bulk set: %v", err)
		}
		items, err := s.BulkGet(ctx, gets, 0)
		if err != nil {
			t.Fatalf("bulk get: %v", err)
		}
		if len(items) != len(gets) {
			t.Fatalf("%d items for %d keys", len(items), len(gets))
		}
		for i, it := range items[:20] {
			if it.Error != "" || !it.Found || !sameValue(it.Data, []byte(strconv.Itoa(i*10))) || it.Key != gets[i].Key {
				t.Fatalf("item %d: %+v", i, it)
			}
		}
		if items[20].Found || items[20].Error != "" {
			t.Fatalf("missing item: %+v", items[20])
		}
	})

	t.Run("AsyncGet", func(t *testing.T) {
		ag, ok := s.(state.AsyncGetter)
		if !ok || !ag.AsyncGets() {
			t.Skip("no AsyncGetter")
		}
		const n = 300
		keys := make([]string, n)
		for i := range 10 {
			set(t, key("async-"+strconv.Itoa(i)), strconv.Itoa(i))
		}
		type res struct {
			i    int
			resp state.GetResponse
			err  error
		}
		ch := make(chan res, n)
		for i := range n {
			keys[i] = prefix + "async-" + strconv.Itoa(i%12) // 10 and 11 are missing
			ag.GetAsync(keys[i], func(r state.GetResponse, err error) { ch <- res{i, r, err} })
		}
		for range n {
			select {
			case r := <-ch:
				want := r.i % 12
				switch {
				case r.err != nil:
					t.Fatalf("key %s: %v", keys[r.i], r.err)
				case want >= 10 && r.resp.Found:
					t.Fatalf("missing key %s found", keys[r.i])
				case want < 10 && (!r.resp.Found || !sameValue(r.resp.Data, []byte(strconv.Itoa(want))) || r.resp.ETag == ""):
					t.Fatalf("key %s: %+v", keys[r.i], r.resp)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("GetAsync did not complete")
			}
		}
	})

	t.Run("TTL", func(t *testing.T) {
		if !s.Features().Has(state.FeatureTTL) {
			t.Skip("no TTL")
		}
		k, keep := key("ttl"), key("ttl-keep")
		md := map[string]string{"ttlInSeconds": "1"}
		if err := s.Set(ctx, &state.SetRequest{Key: k, Value: []byte(`"x"`), Metadata: md}); err != nil {
			t.Fatal(err)
		}
		if err := s.Set(ctx, &state.SetRequest{Key: keep, Value: []byte(`"x"`), Metadata: md}); err != nil {
			t.Fatal(err)
		}
		r := get(t, k)
		if !r.Found || r.Metadata["ttlExpireTime"] == "" {
			t.Fatalf("want the value with ttlExpireTime, got %+v", r)
		}
		// -1 clears the TTL.
		if err := s.Set(ctx, &state.SetRequest{Key: keep, Value: []byte(`"y"`), Metadata: map[string]string{"ttlInSeconds": "-1"}}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10*time.Second + opts.TTLGranularity)
		for get(t, k).Found {
			if time.Now().After(deadline) {
				t.Fatal("key with a 1 s TTL still there after 10 s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if r := get(t, keep); !r.Found || !sameValue(r.Data, []byte(`"y"`)) || r.Metadata["ttlExpireTime"] != "" {
			t.Fatalf("ttl -1 did not persist the key: %+v", r)
		}
		if err := s.Set(ctx, &state.SetRequest{Key: k, Value: []byte(`1`), Metadata: map[string]string{"ttlInSeconds": "x"}}); err == nil {
			t.Fatal("a bad ttlInSeconds was accepted")
		}
	})

	t.Run("Transaction", func(t *testing.T) {
		tx, ok := s.(state.Transactional)
		if !ok || !s.Features().Has(state.FeatureTransactional) {
			t.Skip("not transactional")
		}
		a, b, c := key("tx-a"), key("tx-b"), key("tx-c")
		set(t, c, `"old"`)
		err := tx.Multi(ctx, &state.TransactionRequest{Operations: []state.Operation{
			{Set: &state.SetRequest{Key: a, Value: []byte(`"A"`)}},
			{Set: &state.SetRequest{Key: b, Value: []byte(`"B"`)}},
			{Delete: &state.DeleteRequest{Key: c}},
		}})
		if err != nil {
			t.Fatalf("multi: %v", err)
		}
		if !sameValue(get(t, a).Data, []byte(`"A"`)) || !sameValue(get(t, b).Data, []byte(`"B"`)) || get(t, c).Found {
			t.Fatal("transaction not applied")
		}
		// A stale etag anywhere fails the whole transaction.
		ea := get(t, a).ETag
		set(t, a, `"A2"`)
		err = tx.Multi(ctx, &state.TransactionRequest{Operations: []state.Operation{
			{Set: &state.SetRequest{Key: b, Value: []byte(`"B2"`)}},
			{Set: &state.SetRequest{Key: c, Value: []byte(`"C2"`)}},
			{Set: &state.SetRequest{Key: a, Value: []byte(`"A3"`), ETag: ea}},
		}})
		if err == nil {
			t.Fatal("transaction with a stale etag succeeded")
		}
		if !sameValue(get(t, b).Data, []byte(`"B"`)) || get(t, c).Found || !sameValue(get(t, a).Data, []byte(`"A2"`)) {
			t.Fatalf("a failed transaction left changes: b=%s c=%v a=%s", get(t, b).Data, get(t, c).Found, get(t, a).Data)
		}
	})
}
