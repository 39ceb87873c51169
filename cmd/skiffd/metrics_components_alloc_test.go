//go:build !race

package main

import (
	"context"
	"testing"

	"github.com/skiffd/skiff/blocks/pubsub"
	psmemory "github.com/skiffd/skiff/blocks/pubsub/memory"
	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/blocks/state/memory"
)

// The metrics decorator adds no allocation to the state read and write
// paths: the in-memory store's AppendGet (served on the event loop), its
// Set, and a backend store's batched GetAsync.
func TestStateMetricsAddNoAllocations(t *testing.T) {
	cm := newComponentMetrics("app1", "", enabledMetrics(t))
	st, _ := memory.New("statestore", nil)
	ctx := context.Background()
	_ = st.Set(ctx, &state.SetRequest{Key: "app||k1", Value: []byte(`{"a":1}`)})
	w := cm.wrapState("statestore", st)

	key := []byte("app||k1")
	buf := make([]byte, 0, 64)
	fg := w.(state.FastGetter)
	if n := testing.AllocsPerRun(1000, func() { buf, _, _ = fg.AppendGet(buf[:0], key) }); n != 0 {
		t.Errorf("wrapped AppendGet: %v allocs, want 0", n)
	}

	req := &state.SetRequest{Key: "app||k1", Value: []byte(`{"a":2}`)}
	raw := testing.AllocsPerRun(1000, func() { _ = st.Set(ctx, req) })
	wrapped := testing.AllocsPerRun(1000, func() { _ = w.Set(ctx, req) })
	if wrapped != raw {
		t.Errorf("wrapped Set: %v allocs, the store alone %v", wrapped, raw)
	}

	f := &fakeAsync{Store: st}
	ag := cm.wrapState("redisstore", f).(state.AsyncGetter)
	done := func(state.GetResponse, error) {}
	if n := testing.AllocsPerRun(1000, func() { ag.GetAsync("k", done) }); n != 0 {
		t.Errorf("wrapped GetAsync: %v allocs, want 0", n)
	}
}

// Publishing on the event loop (in-memory pub/sub) gains no allocation
// either: the topic's handles come from a cache.
func TestPubsubMetricsPublishAddsNoAllocations(t *testing.T) {
	cm := newComponentMetrics("app1", "", enabledMetrics(t))
	raw, _ := psmemory.New("pubsub", nil)
	defer raw.Close()
	raw.SubscriptionsReady() // nobody subscribed: messages are dropped, not queued
	w := cm.wrapPubsub("pubsub", raw)
	ctx := context.Background()
	req := &pubsub.PublishRequest{Topic: "orders", Data: []byte(`{}`)}
	base := testing.AllocsPerRun(1000, func() { _ = raw.Publish(ctx, req) })
	got := testing.AllocsPerRun(1000, func() { _ = w.Publish(ctx, req) })
	if got != base {
		t.Errorf("wrapped Publish: %v allocs, the component alone %v", got, base)
	}
}
