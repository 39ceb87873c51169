package resiliency

import (
	"sort"
	"sync"
	"time"
)

// fakeClock is a manual clock: timers fire (synchronously) when Advance
// passes their deadline.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	at   time.Time
	f    func()
	done bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.done
	t.done = true
	return was
}

// Advance moves time on by d, firing the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	due := c.due()
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

func (c *fakeClock) due() []*fakeTimer {
	var due, keep []*fakeTimer
	for _, t := range c.timers {
		switch {
		case t.done:
		case !t.at.After(c.now):
			t.done = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	return due
}

// next jumps to the earliest pending timer and fires it; false if none.
func (c *fakeClock) next() bool {
	c.mu.Lock()
	var first *fakeTimer
	for _, t := range c.timers {
		if !t.done && (first == nil || t.at.Before(first.at)) {
			first = t
		}
	}
	if first == nil {
		c.mu.Unlock()
		return false
	}
	if first.at.After(c.now) {
		c.now = first.at
	}
	due := c.due()
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
	return true
}

// drive runs fn in a goroutine, firing timers whenever fn waits on one,
// and returns fn's result.
func drive(c *fakeClock, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	for {
		select {
		case err := <-done:
			return err
		case <-time.After(time.Millisecond):
			c.next()
		}
	}
}
