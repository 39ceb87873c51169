package memory

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/pubsub"
)

func pub(t *testing.T, b *Bus, topic, data string) error {
	t.Helper()
	return b.Publish(context.Background(), &pubsub.PublishRequest{Topic: topic, Data: []byte(data)})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestOrderRetryAndFull(t *testing.T) {
	b, err := New("ps", map[string]string{"MaxQueueSize": "5"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range 5 {
		if err := pub(t, b, "t", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub(t, b, "t", "x"); !errors.Is(err, pubsub.ErrQueueFull) {
		t.Fatalf("6th publish: %v, want ErrQueueFull", err)
	}
	var mu sync.Mutex
	var got []string
	failed := false
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = b.Subscribe(ctx, pubsub.SubscribeRequest{Topic: "t"}, func(_ context.Context, m *pubsub.Message) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(m.Data))
		if string(m.Data) == "2" && !failed {
			failed = true
			return errors.New("retry me")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe(ctx, pubsub.SubscribeRequest{Topic: "t"}, nil); err == nil {
		t.Errorf("second subscription to a topic accepted")
	}
	waitUntil(t, "six deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 6 })
	want := []string{"0", "1", "2", "2", "3", "4"}
	mu.Lock()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("deliveries %v, want %v", got, want)
		}
	}
	mu.Unlock()
	if err := pub(t, b, "t", "again"); err != nil {
		t.Errorf("publish after draining: %v", err)
	}
}

func TestUnsubscribedTopicsAfterReady(t *testing.T) {
	b, _ := New("ps", nil)
	defer b.Close()
	if err := pub(t, b, "early", "kept"); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	if err := b.Subscribe(context.Background(), pubsub.SubscribeRequest{Topic: "early"}, func(context.Context, *pubsub.Message) error { n.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	b.SubscriptionsReady()
	waitUntil(t, "the early message", func() bool { return n.Load() == 1 })
	for range DefaultMaxQueueSize + 10 {
		if err := pub(t, b, "nobody", "x"); err != nil {
			t.Fatalf("publish to an unsubscribed topic after ready: %v", err)
		}
	}
}

func TestBulkSubscribe(t *testing.T) {
	b, _ := New("ps", nil)
	defer b.Close()
	for i := range 7 {
		_ = pub(t, b, "t", strconv.Itoa(i))
	}
	var mu sync.Mutex
	var batches [][]string
	retried := false
	err := b.BulkSubscribe(context.Background(), pubsub.SubscribeRequest{Topic: "t"}, 3, 50*time.Millisecond,
		func(_ context.Context, msgs []*pubsub.Message) []error {
			mu.Lock()
			defer mu.Unlock()
			var batch []string
			errs := make([]error, len(msgs))
			for i, m := range msgs {
				batch = append(batch, string(m.Data))
				if string(m.Data) == "1" && !retried {
					retried = true
					errs[i] = errors.New("again")
				}
			}
			batches = append(batches, batch)
			return errs
		})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "all messages", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, bt := range batches {
			n += len(bt)
		}
		return n == 8
	})
	mu.Lock()
	defer mu.Unlock()
	if len(batches[0]) != 3 || batches[1][0] != "1" {
		t.Errorf("batches %v: the failed message must come first in the next batch", batches)
	}
}

func TestConcurrentPublish(t *testing.T) {
	b, _ := New("ps", map[string]string{"maxQueueSize": "100000"})
	defer b.Close()
	var got atomic.Int64
	seen := make([]int, 4)
	for topic := range 4 {
		_ = b.Subscribe(context.Background(), pubsub.SubscribeRequest{Topic: "t" + strconv.Itoa(topic)}, func(_ context.Context, m *pubsub.Message) error {
			n, _ := strconv.Atoi(string(m.Data))
			if n != seen[topic] {
				t.Errorf("topic %d: got %d, want %d", topic, n, seen[topic])
			}
			seen[topic]++
			got.Add(1)
			return nil
		})
	}
	var wg sync.WaitGroup
	for topic := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				if err := pub(t, b, "t"+strconv.Itoa(topic), strconv.Itoa(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitUntil(t, "8000 deliveries", func() bool { return got.Load() == 8000 })
}

func TestBadMetadataAndClose(t *testing.T) {
	if _, err := New("ps", map[string]string{"maxQueueSize": "-1"}); err == nil {
		t.Errorf("negative maxQueueSize accepted")
	}
	b, _ := New("ps", nil)
	_ = b.Close()
	if err := pub(t, b, "t", "x"); !errors.Is(err, pubsub.ErrClosed) {
		t.Errorf("publish after close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func BenchmarkPublish(b *testing.B) {
	bus, _ := New("ps", map[string]string{"maxQueueSize": "100000000"})
	defer bus.Close()
	req := pubsub.PublishRequest{Topic: "t", Data: []byte("x")}
	b.ReportAllocs()
	for b.Loop() {
		_ = bus.Publish(context.Background(), &req)
	}
}

// TestWindowed: several messages in flight, acknowledged out of order; a
// failure stops new hand-outs until the failed message is through.
func TestWindowed(t *testing.T) {
	b, _ := New("ps", nil)
	defer b.Close()
	var mu sync.Mutex
	var got []string
	var dones []func(error)
	err := b.SubscribeWindowed(context.Background(), pubsub.SubscribeRequest{Topic: "t"}, 3, func(_ context.Context, m *pubsub.Message, done func(error)) {
		mu.Lock()
		got = append(got, string(m.Data))
		dones = append(dones, done)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_ = pub(t, b, "t", strconv.Itoa(i))
	}
	handed := func(n int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == n }
	}
	waitUntil(t, "a full window", handed(3))
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	if len(got) != 3 {
		t.Fatalf("window of 3 handed out %v", got)
	}
	d0, d1, d2 := dones[0], dones[1], dones[2]
	mu.Unlock()
	// 0 fails first: with 1 settled before it, the window (counted in
	// flight) would rightly hand out 3 before the failure is known.
	d0(errors.New("no"))
	d2(nil) // out of order: 1 still pending
	d1(nil)
	waitUntil(t, "the retry of 0", handed(4))
	mu.Lock()
	if got[3] != "0" {
		t.Fatalf("after the failure got %v, want 0 again", got)
	}
	d3 := dones[3]
	mu.Unlock()
	d3(nil)
	waitUntil(t, "the rest", handed(6))
	mu.Lock()
	if got[4] != "3" || got[5] != "4" {
		t.Errorf("hand-outs %v", got)
	}
	for _, d := range dones[4:] {
		d(nil)
	}
	mu.Unlock()
}
