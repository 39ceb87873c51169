package memory

import (
	"context"
	"fmt"
	"github.com/skiffd/skiff/blocks/pubsub/internal/lifecycle"
	"github.com/skiffd/skiff/dataplane/http1"
	"strconv"
	"sync"
	"time"

	"github.com/skiffd/skiff/blocks/pubsub"
)

// DefaultMaxQueueSize is the per-topic bound when metadata sets none.
const DefaultMaxQueueSize = 10000

// Backoff bounds for redelivery after a handler error.
const (
	minBackoff = 20 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// Bus is the in-memory pub/sub component.
type Bus struct {
	name  string
	limit int

	mu     sync.Mutex
	topics map[string]*topic
	ready  bool // SubscriptionsReady was called
	closed bool
	wg     sync.WaitGroup
	stop   chan struct{}
}

type topic struct {
	name string
	mu   sync.Mutex
	// q is a ring of messages: q[head], q[head+1], … (n of them).
	q       []pubsub.Message
	st      []uint8 // per slot, windowed delivery: pending, inFlight, acked, failed
	head, n int
	// Windowed delivery: the first sent messages from head were handed
	// out; inflight of them await their result, failed of them failed.
	// headSeq numbers the head message (numbers grow by one per message).
	sent, inflight, failed int
	headSeq                uint64
	// recovering: a delivery failed; nothing new is handed out until every
	// message handed out has settled and none failed.
	recovering bool
	// consecFail counts failures in a row (a burst of failures of messages
	// out at the same time counts once); it sets the redelivery backoff.
	consecFail int
	subscribed bool
	wake       chan struct{} // capacity 1: a message arrived
}

// New builds the component from its metadata (maxQueueSize).
func New(name string, md map[string]string) (*Bus, error) {
	limit := DefaultMaxQueueSize
	for k, v := range md {
		if http1.EqualFoldString(k, "maxQueueSize") && v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("pubsub.in-memory: maxQueueSize %q: not a positive integer", v)
			}
			limit = n
		}
	}
	return &Bus{name: name, limit: limit, topics: map[string]*topic{}, stop: make(chan struct{})}, nil
}

// InlineSafe: Publish never waits.
func (b *Bus) InlineSafe() bool { return true }

// Features: none (daprd's in-memory component has none either).
func (b *Bus) Features() pubsub.Features { return 0 }

// topicFor returns the topic's queue; create says whether to make it.
func (b *Bus) topicFor(name string, create bool) (*topic, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, pubsub.ErrClosed
	}
	t := b.topics[name]
	if t == nil && create {
		t = &topic{name: name, wake: make(chan struct{}, 1)}
		b.topics[name] = t
	}
	return t, nil
}

// Publish appends the message to its topic's queue.
func (b *Bus) Publish(_ context.Context, req *pubsub.PublishRequest) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return pubsub.ErrClosed
	}
	t := b.topics[req.Topic]
	if t == nil {
		if b.ready {
			// Nobody subscribed and nobody will: daprd's in-memory bus
			// drops such messages too.
			b.mu.Unlock()
			return nil
		}
		t = &topic{name: req.Topic, wake: make(chan struct{}, 1)}
		b.topics[req.Topic] = t
	}
	b.mu.Unlock()
	return t.push(pubsub.Message{Topic: req.Topic, Data: req.Data, ContentType: req.ContentType, Metadata: req.Metadata}, b.limit)
}

// BulkPublish publishes each entry; a full queue fails the entries that do
// not fit.
func (b *Bus) BulkPublish(ctx context.Context, req *pubsub.BulkPublishRequest) []pubsub.BulkFailure {
	var failed []pubsub.BulkFailure
	for i := range req.Entries {
		e := &req.Entries[i]
		err := b.Publish(ctx, &pubsub.PublishRequest{Topic: req.Topic, Data: e.Event, ContentType: e.ContentType, Metadata: e.Metadata})
		if err != nil {
			failed = append(failed, pubsub.BulkFailure{EntryID: e.EntryID, Err: err})
		}
	}
	return failed
}

func (t *topic) push(m pubsub.Message, limit int) error {
	t.mu.Lock()
	if t.n >= limit {
		t.mu.Unlock()
		return fmt.Errorf("topic %s: %w (%d messages waiting)", t.name, pubsub.ErrQueueFull, t.n)
	}
	if t.n == len(t.q) {
		t.grow(limit)
	}
	t.q[(t.head+t.n)%len(t.q)] = m
	t.st[(t.head+t.n)%len(t.q)] = pending
	t.n++
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return nil
}

// grow doubles the ring (up to limit), keeping the order.
func (t *topic) grow(limit int) {
	size := max(16, 2*len(t.q))
	size = min(size, limit)
	q := make([]pubsub.Message, size)
	st := make([]uint8, size)
	for i := 0; i < t.n; i++ {
		q[i] = t.q[(t.head+i)%len(t.q)]
		st[i] = t.st[(t.head+i)%len(t.q)]
	}
	t.q, t.st, t.head = q, st, 0
}

// peek copies up to len(dst) messages from the head.
func (t *topic) peek(dst []pubsub.Message) int {
	t.mu.Lock()
	n := min(len(dst), t.n)
	for i := 0; i < n; i++ {
		dst[i] = t.q[(t.head+i)%len(t.q)]
	}
	t.mu.Unlock()
	return n
}

// drop removes the head message.
func (t *topic) drop() {
	t.mu.Lock()
	t.q[t.head] = pubsub.Message{}
	t.head = (t.head + 1) % len(t.q)
	t.n--
	t.headSeq++
	t.mu.Unlock()
}

// replaceHead removes the first n messages and puts keep (in order) back in
// front of the rest.
func (t *topic) replaceHead(n int, keep []pubsub.Message) {
	t.mu.Lock()
	for i := 0; i < n; i++ {
		t.q[t.head] = pubsub.Message{}
		t.head = (t.head + 1) % len(t.q)
		t.n--
	}
	for i := len(keep) - 1; i >= 0; i-- {
		t.head = (t.head - 1 + len(t.q)) % len(t.q)
		t.q[t.head] = keep[i]
		t.n++
	}
	t.mu.Unlock()
}

// Subscribe starts the topic's delivery goroutine.
func (b *Bus) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, h pubsub.Handler) error {
	t, err := b.subscribe(req.Topic)
	if err != nil {
		return err
	}
	b.wg.Go(func() { b.deliver(ctx, t, h) })
	return nil
}

// BulkSubscribe starts the topic's delivery goroutine in batches.
func (b *Bus) BulkSubscribe(ctx context.Context, req pubsub.SubscribeRequest, maxCount int, maxAwait time.Duration, h pubsub.BulkHandler) error {
	t, err := b.subscribe(req.Topic)
	if err != nil {
		return err
	}
	maxCount = max(1, maxCount)
	b.wg.Go(func() { b.deliverBulk(ctx, t, maxCount, maxAwait, h) })
	return nil
}

func (b *Bus) subscribe(name string) (*topic, error) {
	t, err := b.topicFor(name, true)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.subscribed {
		return nil, fmt.Errorf("pubsub.in-memory %s: topic %s already has a subscription", b.name, name)
	}
	t.subscribed = true
	return t, nil
}

// SubscriptionsReady drops the queues of topics nobody subscribed to.
func (b *Bus) SubscriptionsReady() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ready = true
	for name, t := range b.topics {
		t.mu.Lock()
		sub := t.subscribed
		t.mu.Unlock()
		if !sub {
			delete(b.topics, name)
		}
	}
}

// wait blocks until t may have a message, or ctx/stop ends.
func (b *Bus) wait(ctx context.Context, t *topic, d time.Duration) bool {
	var timer <-chan time.Time
	if d > 0 {
		tm := time.NewTimer(d)
		defer tm.Stop()
		timer = tm.C
	}
	select {
	case <-t.wake:
		return true
	case <-timer:
		return true
	case <-ctx.Done():
		return false
	case <-b.stop:
		return false
	}
}

func (b *Bus) deliver(ctx context.Context, t *topic, h pubsub.Handler) {
	var one [1]pubsub.Message
	backoff := minBackoff
	again := false // the head message failed before
	for {
		if t.peek(one[:]) == 0 {
			if !b.wait(ctx, t, 0) {
				return
			}
			continue
		}
		m := one[0]
		m.Redelivered = again
		if err := h(ctx, &m); err != nil {
			if !lifecycle.Sleep(ctx, b.stop, backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			again = true
			continue
		}
		backoff, again = minBackoff, false
		t.drop()
	}
}

func (b *Bus) deliverBulk(ctx context.Context, t *topic, maxCount int, maxAwait time.Duration, h pubsub.BulkHandler) {
	batch := make([]pubsub.Message, maxCount)
	ptrs := make([]*pubsub.Message, maxCount)
	backoff := minBackoff
	for {
		n := t.peek(batch)
		if n == 0 {
			if !b.wait(ctx, t, 0) {
				return
			}
			continue
		}
		if n < maxCount && maxAwait > 0 {
			// Gather more for up to maxAwait, as daprd's default bulk
			// subscriber does.
			deadline := time.Now().Add(maxAwait)
			for n < maxCount {
				left := time.Until(deadline)
				if left <= 0 || !b.wait(ctx, t, left) {
					break
				}
				n = t.peek(batch)
			}
			if ctx.Err() != nil {
				return
			}
		}
		for i := 0; i < n; i++ {
			ptrs[i] = &batch[i]
		}
		errs := h(ctx, ptrs[:n])
		var keep []pubsub.Message
		for i := 0; i < n; i++ {
			if i < len(errs) && errs[i] != nil {
				keep = append(keep, batch[i])
			}
		}
		t.replaceHead(n, keep)
		clear(batch[:n])
		if len(keep) > 0 {
			if !lifecycle.Sleep(ctx, b.stop, backoff) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
	}
}

// Close stops delivery and waits for the delivery goroutines.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.stop)
	b.mu.Unlock()
	b.wg.Wait()
	return nil
}

// Slot states of windowed delivery.
const (
	pending uint8 = iota
	inFlight
	acked
	failed
	resent // a failed message handed out again
)

// SubscribeWindowed starts the topic's windowed delivery goroutine.
func (b *Bus) SubscribeWindowed(ctx context.Context, req pubsub.SubscribeRequest, window int, h pubsub.AsyncHandler) error {
	t, err := b.subscribe(req.Topic)
	if err != nil {
		return err
	}
	window = max(1, window)
	b.wg.Go(func() { b.deliverWindowed(ctx, t, window, h) })
	return nil
}

// popAcked drops acknowledged messages from the head. t.mu is held.
func (t *topic) popAcked() {
	for t.sent > 0 && t.st[t.head] == acked {
		t.q[t.head] = pubsub.Message{}
		t.head = (t.head + 1) % len(t.q)
		t.n--
		t.sent--
		t.headSeq++
	}
}

// settle records the result of message seq.
func (t *topic) settle(seq uint64, err error) {
	t.mu.Lock()
	off := int(seq - t.headSeq)
	if off >= 0 && off < t.sent {
		i := (t.head + off) % len(t.q)
		if st := t.st[i]; st == inFlight || st == resent {
			t.inflight--
			if err == nil {
				t.st[i] = acked
				t.consecFail = 0
			} else {
				t.st[i] = failed
				t.failed++
				if st == resent || !t.recovering {
					t.consecFail++
				}
				t.recovering = true
			}
		}
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (b *Bus) deliverWindowed(ctx context.Context, t *topic, window int, h pubsub.AsyncHandler) {
	for {
		t.mu.Lock()
		t.popAcked()
		if t.recovering && t.failed == 0 && t.inflight == 0 {
			t.recovering = false
		}
		var (
			m     pubsub.Message
			seq   uint64
			ok    bool
			pause time.Duration
		)
		switch {
		case t.failed > 0 && t.inflight == 0:
			// Everything out has settled: resend the first failed
			// message alone, after a backoff that grows with failures in
			// a row; later ones wait.
			for off := 0; off < t.sent; off++ {
				i := (t.head + off) % len(t.q)
				if t.st[i] == failed {
					t.st[i] = resent
					t.failed--
					t.inflight++
					m, seq, ok = t.q[i], t.headSeq+uint64(off), true
					m.Redelivered = true
					break
				}
			}
			if t.consecFail > 0 {
				pause = min(minBackoff<<min(t.consecFail-1, 16), maxBackoff)
			}
		case !t.recovering && t.inflight < window && t.sent < t.n:
			i := (t.head + t.sent) % len(t.q)
			t.st[i] = inFlight
			m, seq, ok = t.q[i], t.headSeq+uint64(t.sent), true
			t.sent++
			t.inflight++
		}
		t.mu.Unlock()
		if !ok {
			if !b.wait(ctx, t, 0) {
				return
			}
			continue
		}
		if pause > 0 && !lifecycle.Sleep(ctx, b.stop, pause) {
			return
		}
		h(ctx, &m, func(err error) { t.settle(seq, err) })
	}
}
