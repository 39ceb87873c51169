package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/pubsub"
)

// Harness builds the component under test.
type Harness struct {
	// New returns a fresh component; the suite closes it.
	New func(t *testing.T) pubsub.PubSub
	// Cleanup removes what a test's topic left on the broker.
	Cleanup func(topic string)
	// Ordered: the broker keeps per-topic order (checked).
	Ordered bool
	// Durable: messages outlive the component (a broker): a new one on
	// the same consumer gets what was not acknowledged.
	Durable bool
	// Wait bounds how long a delivery may take (generous: shared machine).
	Wait time.Duration
}

// Service returns the address in env, or skips (fails with CI=true) when
// it is unset.
func Service(t *testing.T, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: the %s service is missing (run .ci/services.sh)", env, what)
	}
	t.Skipf("%s is not set: no %s service (eval \"$(.ci/services.sh --env)\" to run this test)", env, what)
	return ""
}

// Topic returns a unique topic name.
func Topic(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	if h.Wait == 0 {
		h.Wait = 30 * time.Second
	}
	t.Run("RoundTrip", func(t *testing.T) { roundTrip(t, h) })
	t.Run("AtLeastOnce", func(t *testing.T) { atLeastOnce(t, h) })
	t.Run("BulkPublish", func(t *testing.T) { bulkPublish(t, h) })
	t.Run("Close", func(t *testing.T) { closeTest(t, h) })
	t.Run("PublishAsync", func(t *testing.T) { publishAsync(t, h) })
	t.Run("Windowed", func(t *testing.T) { windowedRoundTrip(t, h) })
	t.Run("WindowedAtLeastOnce", func(t *testing.T) { windowedAtLeastOnce(t, h) })
	t.Run("WindowedRestart", func(t *testing.T) { windowedRestart(t, h) })
}

func setup(t *testing.T, h Harness) (pubsub.PubSub, string, context.Context) {
	t.Helper()
	ps := h.New(t)
	topic := Topic("skiff-conf")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		_ = ps.Close()
		if h.Cleanup != nil {
			h.Cleanup(topic)
		}
	})
	return ps, topic, ctx
}

// recorder collects acknowledged deliveries.
type recorder struct {
	mu    sync.Mutex
	got   []string
	md    []map[string]string
	calls int
	done  chan struct{}
	want  int
	// fail decides whether the n-th call (1-based) fails.
	fail func(n int) bool
}

func newRecorder(want int, fail func(int) bool) *recorder {
	return &recorder{want: want, fail: fail, done: make(chan struct{})}
}

func (r *recorder) handle(_ context.Context, m *pubsub.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil && r.fail(r.calls) {
		return errors.New("forced failure")
	}
	r.got = append(r.got, string(m.Data))
	r.md = append(r.md, m.Metadata)
	if len(r.got) == r.want {
		close(r.done)
	}
	return nil
}

func (r *recorder) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		r.mu.Lock()
		defer r.mu.Unlock()
		t.Fatalf("after %s: %d of %d messages acknowledged (%d handler calls)", d, len(r.got), r.want, r.calls)
	}
}

func payload(i int) []byte { return []byte(`{"n":` + strconv.Itoa(i) + `}`) }

// checkAll verifies every message arrived (at least once), and in order
// when the broker promises it.
func checkAll(t *testing.T, h Harness, r *recorder, n int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for _, g := range r.got {
		seen[g] = true
	}
	for i := 0; i < n; i++ {
		if !seen[string(payload(i))] {
			t.Errorf("message %d never acknowledged", i)
		}
	}
	if h.Ordered {
		for i := 0; i < n && i < len(r.got); i++ {
			if r.got[i] != string(payload(i)) {
				t.Fatalf("order: delivery %d is %s, want %s (all: %v)", i, r.got[i], payload(i), r.got)
			}
		}
	}
}

func roundTrip(t *testing.T, h Harness) {
	ps, topic, ctx := setup(t, h)
	const n = 20
	r := newRecorder(n, nil)
	if err := ps.Subscribe(ctx, pubsub.SubscribeRequest{Topic: topic}, r.handle); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		md := map[string]string{"k": fmt.Sprint(i)}
		if err := ps.Publish(ctx, &pubsub.PublishRequest{Topic: topic, Data: payload(i), ContentType: "application/json", Metadata: md}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	r.wait(t, h.Wait)
	checkAll(t, h, r, n)
}

// atLeastOnce: the handler fails the first 2 deliveries and every 5th.
func atLeastOnce(t *testing.T, h Harness) {
	ps, topic, ctx := setup(t, h)
	const n = 30
	r := newRecorder(n, func(c int) bool { return c <= 2 || c%5 == 0 })
	if err := ps.Subscribe(ctx, pubsub.SubscribeRequest{Topic: topic}, r.handle); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := ps.Publish(ctx, &pubsub.PublishRequest{Topic: topic, Data: payload(i)}); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	r.wait(t, h.Wait)
	checkAll(t, h, r, n)
	r.mu.Lock()
	calls := r.calls
	r.mu.Unlock()
	if calls <= n {
		t.Errorf("%d handler calls for %d messages: the forced failures were not redelivered", calls, n)
	}
}

func bulkPublish(t *testing.T, h Harness) {
	ps, topic, ctx := setup(t, h)
	bp, ok := ps.(pubsub.BulkPublisher)
	if !ok {
		t.Skip("component does not implement BulkPublisher (the block publishes entry by entry)")
	}
	const n = 10
	r := newRecorder(n, nil)
	if err := ps.Subscribe(ctx, pubsub.SubscribeRequest{Topic: topic}, r.handle); err != nil {
		t.Fatal(err)
	}
	req := &pubsub.BulkPublishRequest{Topic: topic}
	for i := 0; i < n; i++ {
		req.Entries = append(req.Entries, pubsub.BulkEntry{EntryID: strconv.Itoa(i), Event: payload(i), ContentType: "application/json"})
	}
	if f := bp.BulkPublish(ctx, req); len(f) > 0 {
		t.Fatalf("bulk publish failed entries: %+v", f)
	}
	r.wait(t, h.Wait)
	checkAll(t, h, r, n)
}

func closeTest(t *testing.T, h Harness) {
	ps := h.New(t)
	topic := Topic("skiff-conf")
	defer func() {
		if h.Cleanup != nil {
			h.Cleanup(topic)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ps.Subscribe(ctx, pubsub.SubscribeRequest{Topic: topic}, func(context.Context, *pubsub.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ps.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(h.Wait):
		t.Fatal("Close did not return")
	}
	if err := ps.Publish(ctx, &pubsub.PublishRequest{Topic: topic, Data: payload(0)}); err == nil {
		t.Error("publish after Close succeeded")
	}
	_ = ps.Close() // idempotent
}

// publishAsync: messages published through AsyncPublisher, many at once,
// are all acknowledged (done nil) and all delivered, in order where the
// broker keeps it; after Close a publish fails.
func publishAsync(t *testing.T, h Harness) {
	ps, topic, ctx := setup(t, h)
	ap, ok := ps.(pubsub.AsyncPublisher)
	if !ok || !ap.AsyncPublishes() {
		t.Skip("component has no asynchronous publishing")
	}
	const n = 300
	r := newRecorder(n, nil)
	if err := ps.Subscribe(ctx, pubsub.SubscribeRequest{Topic: topic}, r.handle); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		// One at a time in order, without waiting: a batching publisher
		// must keep their order.
		ap.PublishAsync(&pubsub.PublishRequest{Topic: topic, Data: payload(i)}, func(err error) { errs <- err })
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("publish: %v", err)
			}
		case <-time.After(h.Wait):
			t.Fatalf("%d of %d publishes never completed", n-i, n)
		}
	}
	r.wait(t, h.Wait)
	checkAll(t, h, r, n)
	_ = ps.Close()
	ap.PublishAsync(&pubsub.PublishRequest{Topic: topic, Data: payload(0)}, func(err error) { errs <- err })
	select {
	case err := <-errs:
		if err == nil {
			t.Error("publish after Close succeeded")
		}
	case <-time.After(h.Wait):
		t.Fatal("publish after Close never completed")
	}
}
