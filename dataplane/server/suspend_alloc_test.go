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
