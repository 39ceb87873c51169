package server

import (
	"context"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
)

// Waking connections from workers. gnet's Conn.Wake allocates a closure and
// a queue node per call and runs OnTraffic once per call; a batch worker
// answering 256 state reads spread over a loop's connections would pay that
// 256 times. Instead each event loop has a wake list: a worker pushes the
// connection (once, however many answers it has pending) and only the push
// that finds the list empty posts one task to the loop, which then runs
// every listed connection in that one turn.
//
// The list is a lock-free stack linked through conn.wakeNext: pushes CAS
// the head, the loop takes the whole stack with one Swap, so there is no
// ABA (nothing pops single nodes). A conn object is never reused after
// its gnet connection closed, so a listed conn that closed meanwhile is
// simply skipped (cn.gone, loop-only, as gnet's own Wake skips stale ones).

// wakeList is one event loop's list of connections to run.
type wakeList struct {
	el   gnet.EventLoop
	head atomic.Pointer[conn]
}

// wakeLists maps each event loop to its list; read once per connection.
type wakeLists struct {
	m map[gnet.EventLoop]*wakeList // guarded by Server.mu
}

// wakeListFor returns el's list. Caller holds s.mu.
func (s *Server) wakeListFor(el gnet.EventLoop) *wakeList {
	if s.wakes.m == nil {
		s.wakes.m = make(map[gnet.EventLoop]*wakeList)
	}
	wl := s.wakes.m[el]
	if wl == nil {
		wl = &wakeList{el: el}
		s.wakes.m[el] = wl
	}
	return wl
}

// wake has the loop run cn's onTraffic soon: answers are ready to flush, a
// stream has bytes, a body pipe has room. Safe from any goroutine; cheap
// when cn is already listed.
func (cn *conn) wake() {
	if cn.wakeQueued.Swap(true) {
		return // listed and not yet run: that run sees what we did
	}
	wl := cn.wl
	for {
		old := wl.head.Load()
		cn.wakeNext = old
		if wl.head.CompareAndSwap(old, cn) {
			if old == nil {
				// Fails only once the engine is stopping: its connections
				// are being closed, nobody waits for a flush any more.
				_ = wl.el.Execute(context.Background(), wl)
			}
			return
		}
	}
}

// Run implements gnet.Runnable: on the loop, run every listed connection.
func (wl *wakeList) Run(context.Context) error {
	// Newest first as taken; reversed so connections run in the order they
	// were completed.
	var list *conn
	for cn := wl.head.Swap(nil); cn != nil; {
		next := cn.wakeNext
		cn.wakeNext = list
		list = cn
		cn = next
	}
	for cn := list; cn != nil; {
		next := cn.wakeNext
		cn.wakeNext = nil
		// Cleared before running: an answer completed from here on lists
		// the connection again (its done flag is set before the push, and
		// flush reads it after this store).
		cn.wakeQueued.Store(false)
		if !cn.gone && cn.onTraffic() == gnet.Close {
			_ = wl.el.Close(cn.gc)
		}
		cn = next
	}
	return nil
}
