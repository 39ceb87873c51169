package conformance

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/pubsub"
)

// Windowed delivery (pubsub.WindowedSubscriber), as the block drives it:
// each lane's deliveries are answered in the order they were handed out,
// from another goroutine, as the pipelined connection to the app does.

const testWindow = 8

// asyncApp answers windowed deliveries lane by lane.
type asyncApp struct {
	rec *recorder

	mu       sync.Mutex
	lanes    map[int]chan held
	inflight int
	maxIn    int
	firsts   []string // first hand-outs (not redeliveries), in order
	// hold: deliveries after the first `hold` acknowledged ones are kept
	// unanswered until ctx ends, then failed (a sidecar shutting down).
	hold    int
	holding []held
	ctx     context.Context
}

type held struct {
	data string
	md   map[string]string
	done func(error)
}

func newAsyncApp(ctx context.Context, rec *recorder) *asyncApp {
	a := &asyncApp{rec: rec, lanes: map[int]chan held{}, hold: -1, ctx: ctx}
	context.AfterFunc(ctx, func() {
		a.mu.Lock()
		hs := a.holding
		a.holding = nil
		a.inflight -= len(hs)
		a.mu.Unlock()
		for _, h := range hs {
			h.done(errors.New("shutting down"))
		}
	})
	return a
}

func (a *asyncApp) handle(_ context.Context, m *pubsub.Message, done func(error)) {
	h := held{data: string(m.Data), md: m.Metadata, done: done}
	a.mu.Lock()
	if a.ctx.Err() != nil {
		a.mu.Unlock()
		done(errors.New("shutting down"))
		return
	}
	a.inflight++
	a.maxIn = max(a.maxIn, a.inflight)
	if !m.Redelivered {
		a.firsts = append(a.firsts, h.data)
	}
	ch := a.lanes[m.Lane]
	if ch == nil {
		ch = make(chan held, 1024)
		a.lanes[m.Lane] = ch
		go a.answer(ch)
	}
	a.mu.Unlock()
	ch <- h
}

func (a *asyncApp) answer(ch chan held) {
	for h := range ch {
		a.mu.Lock()
		if a.hold >= 0 {
			a.rec.mu.Lock()
			n := len(a.rec.got)
			a.rec.mu.Unlock()
			if n >= a.hold {
				a.holding = append(a.holding, h)
				a.mu.Unlock()
				continue
			}
		}
		a.inflight--
		a.mu.Unlock()
		h.done(a.rec.handle(context.Background(), &pubsub.Message{Data: []byte(h.data), Metadata: h.md}))
	}
}

// windowedSetup returns the component as a WindowedSubscriber and its lane
// count, or skips.
func windowedSetup(t *testing.T, ps pubsub.PubSub) (pubsub.WindowedSubscriber, int) {
	t.Helper()
	ws, ok := ps.(pubsub.WindowedSubscriber)
	if !ok {
		t.Skip("component has no windowed delivery")
	}
	lanes := 1
	if lc, ok := ps.(pubsub.LaneCounter); ok {
		lanes = lc.Lanes(pubsub.SubscribeRequest{})
	}
	if lanes == 0 {
		t.Skip("this configuration delivers through Subscribe")
	}
	return ws, lanes
}

// checkWindow: no lane had more than its share of the window in flight.
func checkWindow(t *testing.T, a *asyncApp, lanes int) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	limit := lanes * max(1, (testWindow+lanes-1)/lanes)
	if a.maxIn > limit {
		t.Errorf("%d deliveries in flight at once; window %d over %d lanes allows %d", a.maxIn, testWindow, lanes, limit)
	}
	if a.maxIn < 2 && lanes*testWindow > 1 {
		t.Logf("note: never more than %d delivery in flight", a.maxIn)
	}
}

// checkFirsts: with one lane on an ordered broker, messages were first
// handed out in publish order.
func checkFirsts(t *testing.T, h Harness, a *asyncApp, lanes, n int) {
	t.Helper()
	if !h.Ordered || lanes != 1 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := 0; i < n && i < len(a.firsts); i++ {
		if a.firsts[i] != string(payload(i)) {
			t.Fatalf("order of first hand-outs: %d is %s, want %s (all: %v)", i, a.firsts[i], payload(i), a.firsts)
		}
	}
}

func windowedRoundTrip(t *testing.T, h Harness) {
	ps, topic, ctx := setup(t, h)
	ws, lanes := windowedSetup(t, ps)
	const n = 200
	r := newRecorder(n, nil)
	a := newAsyncApp(ctx, r)
	if err := ws.SubscribeWindowed(ctx, pubsub.SubscribeRequest{Topic: topic}, testWindow, a.handle); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := ps.Publish(ctx, &pubsub.PublishRequest{Topic: topic, Data: payload(i)}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	r.wait(t, h.Wait)
	checkAll(t, Harness{Ordered: h.Ordered && lanes == 1}, r, n)
	checkWindow(t, a, lanes)
}

// windowedAtLeastOnce: the app fails the first 2 deliveries and every 5th;
// every message is acknowledged in the end, and with one lane on an
// ordered broker the first hand-outs keep publish order.
func windowedAtLeastOnce(t *testing.T, h Harness) {
	ps, topic, ctx := setup(t, h)
	ws, lanes := windowedSetup(t, ps)
	const n = 60
	r := newRecorder(n, func(c int) bool { return c <= 2 || c%5 == 0 })
	a := newAsyncApp(ctx, r)
	if err := ws.SubscribeWindowed(ctx, pubsub.SubscribeRequest{Topic: topic}, testWindow, a.handle); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := ps.Publish(ctx, &pubsub.PublishRequest{Topic: topic, Data: payload(i)}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	r.wait(t, h.Wait)
	checkAll(t, Harness{}, r, n)
	checkFirsts(t, h, a, lanes, n)
	checkWindow(t, a, lanes)
}

// windowedRestart: the sidecar stops with deliveries in flight (they fail,
// as the pipelined connection fails them at shutdown); a new component on
// the same consumer delivers every message not acknowledged before.
func windowedRestart(t *testing.T, h Harness) {
	if !h.Durable {
		t.Skip("messages do not outlive the component")
	}
	topic := Topic("skiff-conf")
	if h.Cleanup != nil {
		t.Cleanup(func() { h.Cleanup(topic) })
	}
	ps := h.New(t)
	ws, _ := windowedSetup(t, ps)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n, first = 40, 10
	r := newRecorder(n, nil)
	a := newAsyncApp(ctx, r)
	a.hold = first
	if err := ws.SubscribeWindowed(ctx, pubsub.SubscribeRequest{Topic: topic}, testWindow, a.handle); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := ps.Publish(ctx, &pubsub.PublishRequest{Topic: topic, Data: payload(i)}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	waitFor(t, h, "deliveries held after the first acknowledged ones", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.holding) > 0
	})
	// Stop the sidecar as the block does: cancel, then close.
	cancel()
	if err := ps.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	r.mu.Lock()
	acked := slices.Clone(r.got)
	r.mu.Unlock()
	if len(acked) != first {
		t.Fatalf("%d acknowledged before the stop, want %d", len(acked), first)
	}
	owed := map[string]bool{}
	for i := 0; i < n; i++ {
		owed[string(payload(i))] = true
	}
	for _, g := range acked {
		delete(owed, g)
	}

	ps2 := h.New(t)
	ws2, _ := windowedSetup(t, ps2)
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer func() { cancel2(); _ = ps2.Close() }()
	var mu sync.Mutex
	left := len(owed)
	all := make(chan struct{})
	// Acknowledged messages may come again (at-least-once); count the
	// owed ones, once each.
	if err := ws2.SubscribeWindowed(ctx2, pubsub.SubscribeRequest{Topic: topic}, testWindow, func(_ context.Context, m *pubsub.Message, done func(error)) {
		mu.Lock()
		if owed[string(m.Data)] {
			delete(owed, string(m.Data))
			if left--; left == 0 {
				close(all)
			}
		}
		mu.Unlock()
		done(nil)
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-all:
	case <-time.After(h.Wait):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("after the restart, %d messages not acknowledged before the stop never came: %v", len(owed), owed)
	}
}

func waitFor(t *testing.T, h Harness, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(h.Wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: no %s", h.Wait, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
