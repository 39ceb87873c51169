package pubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// concurrentPS is a component that hands each message to its own handler
// call at once, as a broker with concurrency does, and records the results.
type concurrentPS struct {
	msgs []string
	mu   sync.Mutex
	res  map[string]error
	wg   sync.WaitGroup
}

func (c *concurrentPS) Publish(context.Context, *PublishRequest) error { return nil }
func (c *concurrentPS) Features() Features                             { return 0 }
func (c *concurrentPS) Close() error                                   { return nil }
func (c *concurrentPS) Subscribe(ctx context.Context, _ SubscribeRequest, h Handler) error {
	for _, m := range c.msgs {
		c.wg.Go(func() {
			err := h(ctx, &Message{Data: []byte(m)})
			c.mu.Lock()
			c.res[m] = err
			c.mu.Unlock()
		})
	}
	return nil
}

// TestGatherBatches: concurrent deliveries are gathered up to maxCount,
// the rest at the tick, and each handler call gets its own entry's result.
func TestGatherBatches(t *testing.T) {
	ps := &concurrentPS{res: map[string]error{}}
	for i := range 7 {
		ps.msgs = append(ps.msgs, fmt.Sprint(i))
	}
	var mu sync.Mutex
	var sizes []int
	h := func(_ context.Context, msgs []*Message) []error {
		mu.Lock()
		sizes = append(sizes, len(msgs))
		mu.Unlock()
		errs := make([]error, len(msgs))
		for i, m := range msgs {
			if string(m.Data) == "3" {
				errs[i] = errors.New("retry")
			}
		}
		return errs
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := subscribeGathered(ctx, ps, SubscribeRequest{Topic: "t"}, 4, 50*time.Millisecond, h); err != nil {
		t.Fatal(err)
	}
	ps.wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for _, n := range sizes {
		if n > 4 {
			t.Errorf("batch of %d, max 4", n)
		}
		total += n
	}
	if total != 7 || len(sizes) < 2 {
		t.Errorf("batches %v", sizes)
	}
	for m, err := range ps.res {
		if (m == "3") != (err != nil) {
			t.Errorf("message %s: %v", m, err)
		}
	}
}

// TestGatherCancel: handler calls waiting for a batch end with the
// subscription.
func TestGatherCancel(t *testing.T) {
	ps := &concurrentPS{res: map[string]error{}, msgs: []string{"a", "b"}}
	ctx, cancel := context.WithCancel(context.Background())
	block := make(chan struct{})
	h := func(context.Context, []*Message) []error { <-block; return nil }
	if err := subscribeGathered(ctx, ps, SubscribeRequest{Topic: "t"}, 100, time.Hour, h); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	cancel()
	ps.wg.Wait()
	close(block)
	for m, err := range ps.res {
		if err == nil {
			t.Errorf("message %s acknowledged after the subscription ended", m)
		}
	}
}
