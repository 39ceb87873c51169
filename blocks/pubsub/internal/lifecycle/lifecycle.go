// Package lifecycle holds the two goroutine helpers every broker component
// needs: a consumer that ends with its subscription's context or with the
// component's Close, and a back-off sleep that ends early on either.
//
// It keeps no state and owns no buffers.
package lifecycle

import (
	"context"
	"sync"
	"time"
)

// Go runs f on wg with a context that ends when ctx ends or stop closes,
// whichever comes first; Close then waits for it through wg.
func Go(wg *sync.WaitGroup, ctx context.Context, stop <-chan struct{}, f func(context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	wg.Add(2)
	go func() {
		defer wg.Done()
		select {
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	go func() {
		defer wg.Done()
		f(ctx)
	}()
}

// Sleep waits for d and reports true, or false as soon as ctx ends or stop
// closes (a nil stop never closes).
func Sleep(ctx context.Context, stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	}
}
