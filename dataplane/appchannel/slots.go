package appchannel

import (
	"context"
	"sync"
)

// slots is the --app-max-concurrency limit. Workers calling Do and the
// event loops calling the app themselves share it, so the limit holds for
// the sidecar as a whole. Waiters are served first come, first served: a
// released slot goes straight to the oldest waiter.
type slots struct {
	mu      sync.Mutex
	free    int
	waiters []*Waiter
}

// Waiter is a place in the queue for a slot. A worker waits on ch; an event
// loop gives Notify, which runs on the goroutine that released the slot and
// must not block (it posts to the loop).
type Waiter struct {
	Notify  func()
	ch      chan struct{}
	granted bool
}

// acquire blocks until a slot is free or ctx ends.
func (s *slots) acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	w := &Waiter{ch: make(chan struct{}, 1)}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	select {
	case <-w.ch:
		return nil
	case <-ctx.Done():
		if s.cancel(w) {
			s.release()
		}
		return ctx.Err()
	}
}

// tryAcquire takes a free slot without queueing.
func (s *slots) tryAcquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free > 0 {
		s.free--
		return true
	}
	return false
}

// wait takes a free slot (true) or queues w (false; w.Notify follows).
func (s *slots) wait(w *Waiter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free > 0 {
		s.free--
		return true
	}
	s.waiters = append(s.waiters, w)
	return false
}

// cancel leaves the queue; true means the slot was granted meanwhile and
// the caller now holds it (and must release it).
func (s *slots) cancel(w *Waiter) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		return true
	}
	for i, x := range s.waiters {
		if x == w {
			copy(s.waiters[i:], s.waiters[i+1:])
			s.waiters[len(s.waiters)-1] = nil
			s.waiters = s.waiters[:len(s.waiters)-1]
			break
		}
	}
	return false
}

// release hands the slot to the oldest waiter, or frees it.
func (s *slots) release() {
	s.mu.Lock()
	if len(s.waiters) == 0 {
		s.free++
		s.mu.Unlock()
		return
	}
	w := s.waiters[0]
	copy(s.waiters, s.waiters[1:])
	s.waiters[len(s.waiters)-1] = nil
	s.waiters = s.waiters[:len(s.waiters)-1]
	w.granted = true
	s.mu.Unlock()
	if w.ch != nil {
		w.ch <- struct{}{}
	} else {
		w.Notify()
	}
}

// Limited reports whether calls are bounded by --app-max-concurrency.
func (c *Client) Limited() bool { return c.slots != nil }

// TryAcquire takes a concurrency slot if one is free (always true when
// unlimited). A holder must call Release once its call is over.
func (c *Client) TryAcquire() bool { return c.slots == nil || c.slots.tryAcquire() }

// Wait takes a free slot (true) or queues w until one is released (false);
// w.Notify then runs, and the slot is the waiter's. For callers that cannot
// block (event loops).
func (c *Client) Wait(w *Waiter) bool { return c.slots == nil || c.slots.wait(w) }

// CancelWait leaves the queue; true means the slot had been granted and the
// caller must Release it.
func (c *Client) CancelWait(w *Waiter) bool { return c.slots != nil && c.slots.cancel(w) }

// Release returns a slot taken by TryAcquire or Wait.
func (c *Client) Release() { c.releaseSlot() }
