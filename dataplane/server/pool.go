package server

import (
	"sync/atomic"
	"time"
)

// workerPool runs blocking work off the event loops. Workers are started on
// demand up to max and exit after idling, so a burst of slow app calls gets
// goroutines and a quiet sidecar holds none. It never blocks the caller.
type workerPool struct {
	max     int32
	n       atomic.Int32
	handoff chan func() // unbuffered: succeeds only when a worker is idle
	backlog chan func() // bounded queue once max workers run
	idle    time.Duration
}

func newWorkerPool(max, backlog int) *workerPool {
	return &workerPool{
		max:     int32(max),
		handoff: make(chan func()),
		backlog: make(chan func(), backlog),
		idle:    10 * time.Second,
	}
}

// submit runs fn on a worker; false means the pool and its backlog are full.
func (p *workerPool) submit(fn func()) bool {
	select {
	case p.handoff <- fn:
		return true
	default:
	}
	if p.n.Add(1) <= p.max {
		go p.work(fn)
		return true
	}
	p.n.Add(-1)
	select {
	case p.backlog <- fn:
		return true
	default:
		return false
	}
}

func (p *workerPool) work(fn func()) {
	t := time.NewTimer(p.idle)
	defer func() {
		t.Stop()
		p.n.Add(-1)
	}()
	for {
		fn()
		// Drain the backlog before offering ourselves as idle.
		select {
		case fn = <-p.backlog:
			continue
		default:
		}
		t.Reset(p.idle)
		select {
		case fn = <-p.handoff:
		case fn = <-p.backlog:
		case <-t.C:
			return
		}
	}
}
