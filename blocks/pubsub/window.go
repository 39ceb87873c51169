package pubsub

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Windowed delivery for brokers. A broker component that reads a topic in
// order (Redis Streams, JetStream) feeds its messages to an Ordered, which
// hands them to the block's AsyncHandler with up to Window in flight and
// keeps WindowedSubscriber's promise: a failed message is redelivered,
// alone, before anything not yet handed out, once everything in flight has
// settled. Components with several lanes (unordered between lanes, as
// daprd's `concurrency`) run one Ordered per lane on a shared source.

// LaneCounter is implemented by a WindowedSubscriber whose subscriptions
// deliver on several lanes: each lane is ordered and gets its own
// connection to the app (Message.Lane says which), messages of different
// lanes are in no particular order. Lanes returning 0 means the
// subscription is delivered one message at a time through Subscribe
// instead (e.g. JetStream's `concurrency: parallel`).
type LaneCounter interface {
	Lanes(req SubscribeRequest) int
}

// AnswerTimeouter is implemented by components that hand a message out
// again when it stays unanswered for some time (Redis Streams'
// processingTimeout, JetStream's ackWait): a pipelined connection on which
// the app sent nothing for that long, with deliveries waiting, is given up
// and its deliveries fail (they come again), as the one-at-a-time path's
// timeout does. 0: no limit.
type AnswerTimeouter interface {
	AnswerTimeout(req SubscribeRequest) time.Duration
}

// Item is one message a broker hands to an Ordered, with the broker's token
// for it (a stream entry id, a JetStream message).
type Item[T any] struct {
	Msg Message
	Tok T
}

// Ordered runs one lane of windowed delivery; see Run.
type Ordered[T any] struct {
	Window int // most messages in flight (≥ 1)
	Lane   int // set on every message handed out
	H      AsyncHandler
	// Ack is called once for each message the app took (nil answer), from
	// whatever goroutine settled it.
	Ack func(T)
	// Retry is called when a message failed and is to be redelivered,
	// with how many times it has failed; false gives it up (it is then
	// neither acknowledged nor redelivered here: the broker's own
	// redelivery or dead-lettering takes over).
	Retry func(tok T, failures int) bool
	// Release is called for each message still unacknowledged when Run
	// ends (the broker may hand it out again at once).
	Release func(T)
	// Backoff before a redelivery grows from MinBackoff, doubling with
	// each failure in a row, up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Stop, when closed, ends Run as ctx does (the component's Close).
	Stop <-chan struct{}

	mu         sync.Mutex
	wake       chan struct{}
	inflight   int
	failed     []*slot[T] // by seq
	free       []*slot[T]
	recovering bool
	consec     int // failures in a row, for the backoff
	seq        uint64
}

type slot[T any] struct {
	o        *Ordered[T]
	it       Item[T]
	seq      uint64
	failures int
	resent   bool        // handed out again after a failure
	done     func(error) // made once per slot: no closure per message
}

// Run delivers what src yields until ctx ends, Stop closes or src is
// closed, then waits for the deliveries in flight to settle and releases
// what was not acknowledged.
func (o *Ordered[T]) Run(ctx context.Context, src <-chan Item[T]) {
	o.Window = max(1, o.Window)
	o.wake = make(chan struct{}, 1)
	o.MinBackoff = max(o.MinBackoff, time.Millisecond)
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	for {
		o.mu.Lock()
		if o.recovering && len(o.failed) == 0 && o.inflight == 0 {
			o.recovering = false
		}
		var (
			s     *slot[T]
			pause time.Duration
			in    <-chan Item[T] // nil (blocks) unless a new message may go out
		)
		switch {
		case len(o.failed) > 0 && o.inflight == 0:
			s = o.failed[0]
			o.failed = o.failed[1:]
			o.inflight++
			s.resent = true
			pause = min(o.MinBackoff<<min(max(o.consec-1, 0), 16), o.MaxBackoff)
		case !o.recovering && o.inflight < o.Window:
			in = src
		}
		o.mu.Unlock()
		if s == nil {
			select {
			case it, ok := <-in:
				if !ok {
					o.drain()
					return
				}
				o.mu.Lock()
				s = o.slot()
				s.it, s.failures, s.resent = it, 0, false
				s.it.Msg.Lane = o.Lane
				o.seq++
				s.seq = o.seq
				o.inflight++
				o.mu.Unlock()
				o.H(ctx, &s.it.Msg, s.done)
				continue
			case <-o.wake:
				continue
			case <-ctx.Done():
			case <-o.Stop:
			}
			o.drain()
			return
		}
		if pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-ctx.Done():
			case <-o.Stop:
			}
			t.Stop()
			if ctx.Err() != nil || stopped(o.Stop) {
				o.mu.Lock()
				o.inflight--
				o.failed = append([]*slot[T]{s}, o.failed...)
				o.mu.Unlock()
				o.drain()
				return
			}
		}
		s.it.Msg.Redelivered = true
		o.H(ctx, &s.it.Msg, s.done)
	}
}

func stopped(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// slot returns a free slot; o.mu is held. At most Window slots are live,
// so the free list settles at that size and steady delivery allocates
// none.
func (o *Ordered[T]) slot() *slot[T] {
	if n := len(o.free); n > 0 {
		s := o.free[n-1]
		o.free = o.free[:n-1]
		return s
	}
	s := &slot[T]{o: o}
	s.done = func(err error) { o.settle(s, err) }
	return s
}

// settle is a slot's done.
func (o *Ordered[T]) settle(s *slot[T], err error) {
	if err == nil {
		if o.Ack != nil {
			o.Ack(s.it.Tok)
		}
		o.mu.Lock()
		o.inflight--
		o.consec = 0
		s.it = Item[T]{}
		o.free = append(o.free, s)
		o.mu.Unlock()
	} else {
		s.failures++
		keep := o.Retry == nil || o.Retry(s.it.Tok, s.failures)
		o.mu.Lock()
		o.inflight--
		if keep {
			i, _ := slices.BinarySearchFunc(o.failed, s.seq, func(f *slot[T], seq uint64) int {
				switch {
				case f.seq < seq:
					return -1
				case f.seq > seq:
					return 1
				}
				return 0
			})
			o.failed = slices.Insert(o.failed, i, s)
			// A window failing together (the app went away) is one
			// failure for the backoff; so is each failed redelivery.
			if s.resent || !o.recovering {
				o.consec++
			}
			o.recovering = true
		} else {
			s.it = Item[T]{}
			o.free = append(o.free, s)
		}
		o.mu.Unlock()
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// drain waits for the deliveries in flight (the block settles them all
// once its context ends), then releases the failed ones.
func (o *Ordered[T]) drain() {
	for {
		o.mu.Lock()
		if o.inflight == 0 {
			failed := o.failed
			o.failed = nil
			o.mu.Unlock()
			if o.Release != nil {
				for _, s := range failed {
					o.Release(s.it.Tok)
				}
			}
			return
		}
		o.mu.Unlock()
		<-o.wake
	}
}
