//go:build !race

package server

import "testing"

// Suspending an exchange (a batched backend read) allocates nothing: the
// resume function is bound once per pooled exchange.
func TestSuspendAllocatesNothing(t *testing.T) {
	ex := getExchange(nil)
	defer exchangePool.Put(ex)
	var sink func()
	if n := testing.AllocsPerRun(1000, func() { sink = ex.Suspend(&ex.c) }); n != 0 {
		t.Errorf("Suspend: %v allocs, want 0", n)
	}
	_ = sink
}

// Waking a connection from a worker allocates nothing: the connection is
// linked into its loop's list, and only a push onto an empty list posts a
// task to the loop (one per batch, not one per answer).
func TestWakeAllocatesNothing(t *testing.T) {
	wl := &wakeList{}
	first := &conn{wl: wl}
	first.wakeQueued.Store(true)
	wl.head.Store(first) // a wake-up is already posted
	cn := &conn{wl: wl}
	if n := testing.AllocsPerRun(1000, func() {
		cn.wake()
		cn.wake() // already listed: nothing to do
		if wl.head.Load() != cn || cn.wakeNext != first {
			t.Fatal("not listed")
		}
		wl.head.Store(first)
		cn.wakeQueued.Store(false)
	}); n != 0 {
		t.Errorf("wake: %v allocs, want 0", n)
	}
}
