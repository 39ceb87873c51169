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
	ch   chan batchReq
	max  int
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu     sync.RWMutex // closed; held (read) while queueing
	closed bool
}

type batchReq struct {
	key  string
	done func(GetResponse, error)
}

var errBatcherClosed = errors.New("state store is closed")

// BatchReader reads one batch for one worker: keys in order into out and
// errs (both len(keys), zeroed). It is called from its worker only, so it
// may keep per-worker state (a dedicated connection, reused buffers).
// out[i].Data must not be modified by the completions: a reader may point
// it at memory it does not own a writable copy of.
type BatchReader func(ctx context.Context, keys []string, out []GetResponse, errs []error)

// NewGetBatcher starts workers goroutines. fetch reads keys (in order) and
// returns one response and one error (nil when fine) per key.
func NewGetBatcher(workers, max int, fetch func(ctx context.Context, keys []string) ([]GetResponse, []error)) *GetBatcher {
	return NewGetBatcherReaders(workers, max, func() BatchReader {
		return func(ctx context.Context, keys []string, out []GetResponse, errs []error) {
			resps, es := fetch(ctx, keys)
			copy(out, resps)
			copy(errs, es)
		}
	})
}

// NewGetBatcherReaders starts workers goroutines, each with the reader
// newReader returns for it.
func NewGetBatcherReaders(workers, max int, newReader func() BatchReader) *GetBatcher {
	b := &GetBatcher{ch: make(chan batchReq, 4096), max: max, stop: make(chan struct{})}
	for range workers {
		read := newReader()
		b.wg.Go(func() { b.work(read) })
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

func (b *GetBatcher) work(read BatchReader) {
	batch := make([]batchReq, 0, b.max)
	keys := make([]string, 0, b.max)
	out := make([]GetResponse, b.max)
	errs := make([]error, b.max)
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
		n := len(batch)
		clear(out[:n])
		clear(errs[:n])
		read(context.Background(), keys, out[:n], errs[:n])
		for i, r := range batch {
			resp, err := out[i], errs[i]
			out[i], errs[i] = GetResponse{}, nil // hold no reference past its batch
			r.done(resp, err)
		}
		clear(batch) // drop the completions and keys of this batch
		clear(keys)
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
