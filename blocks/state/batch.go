package state

import (
	"context"
	"errors"
	"sync"
)

// GetBatcher turns concurrent single-key reads into batched round trips:
// requests queue on a channel, and each of a few workers takes everything
// queued (up to max) and fetches it at once. While one batch is in flight the
// next one fills, so under load one round trip serves many requests and
// under no load a read goes out at once. Stores use it to implement
// AsyncGetter.
type GetBatcher struct {
	ch    chan batchReq
	fetch func(ctx context.Context, keys []string) ([]GetResponse, []error)
	max   int
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once

	mu     sync.RWMutex // closed; held (read) while queueing
	closed bool
}

type batchReq struct {
	key  string
	done func(GetResponse, error)
}

var errBatcherClosed = errors.New("state store is closed")

// NewGetBatcher starts workers goroutines. fetch reads keys (in order) and
// returns one response and one error (nil when fine) per key.
func NewGetBatcher(workers, max int, fetch func(ctx context.Context, keys []string) ([]GetResponse, []error)) *GetBatcher {
	b := &GetBatcher{ch: make(chan batchReq, 4096), fetch: fetch, max: max, stop: make(chan struct{})}
	for range workers {
		b.wg.Go(b.work)
	}
	return b
}

// Get queues a read; done runs on a worker. It never blocks the caller.
func (b *GetBatcher) Get(key string, done func(GetResponse, error)) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		go done(GetResponse{}, errBatcherClosed)
		return
	}
	select {
	case b.ch <- batchReq{key, done}:
	default:
		// Full queue: wait on a goroutine of its own rather than the caller
		// (an event loop).
		go func() {
			select {
			case b.ch <- batchReq{key, done}:
			case <-b.stop:
				done(GetResponse{}, errBatcherClosed)
			}
		}()
	}
}

func (b *GetBatcher) work() {
	batch := make([]batchReq, 0, b.max)
	keys := make([]string, 0, b.max)
	for {
		batch, keys = batch[:0], keys[:0]
		select {
		case <-b.stop:
			return
		case r := <-b.ch:
			batch = append(batch, r)
		}
	drain:
		for len(batch) < b.max {
			select {
			case r := <-b.ch:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		for _, r := range batch {
			keys = append(keys, r.key)
		}
		resps, errs := b.fetch(context.Background(), keys)
		for i, r := range batch {
			var resp GetResponse
			var err error
			if i < len(resps) {
				resp = resps[i]
			}
			if i < len(errs) {
				err = errs[i]
			}
			r.done(resp, err)
		}
	}
}

// Close stops the workers; reads still queued fail.
func (b *GetBatcher) Close() {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(b.stop)
		b.wg.Wait()
		for {
			select {
			case r := <-b.ch:
				r.done(GetResponse{}, errBatcherClosed)
			default:
				return
			}
		}
	})
}
