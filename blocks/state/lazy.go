package state

import (
	"context"
	"errors"

	"github.com/skiffd/skiff/blocks/internal/lazy"
)

// Lazy is a Store whose backend connects in the background: a backend that is
// down when the sidecar starts is retried with backoff instead of stopping
// startup (daprd fails the component and, with its default settings, the
// sidecar). Until the backend answers, every call fails with a 500 that names
// the component, and Ready reports the last connection error so that healthz
// can say which component is not ready.
type Lazy struct {
	name     string
	features Feature
	conn     *lazy.Conn[Store]
}

var (
	_ Store         = (*Lazy)(nil)
	_ Transactional = (*Lazy)(nil)
	_ Querier       = (*Lazy)(nil)
	_ AsyncGetter   = (*Lazy)(nil)
)

// NewLazy starts connecting with connect (called again with backoff until it
// succeeds or Close is called). features are what the connected store will
// report; they must be known up front because the block reads them once.
func NewLazy(name string, features Feature, connect func(ctx context.Context) (Store, error)) *Lazy {
	return &Lazy{name: name, features: features, conn: lazy.New("state store "+name, connect)}
}

// Ready returns nil once the backend is connected, else why it is not.
func (l *Lazy) Ready() error { return l.conn.Ready() }

// Wait blocks until the backend is connected or ctx ends (tests, tools).
func (l *Lazy) Wait(ctx context.Context) error { return l.conn.Wait(ctx) }

// Unwrap returns the connected store, or nil.
func (l *Lazy) Unwrap() Store {
	s, _ := l.conn.Value()
	return s
}

func (l *Lazy) get() (Store, error) { return l.conn.Get() }

// Features reports the features given to NewLazy.
func (l *Lazy) Features() Feature { return l.features }

// Get reads through the connected store.
func (l *Lazy) Get(ctx context.Context, req *GetRequest) (GetResponse, error) {
	s, err := l.get()
	if err != nil {
		return GetResponse{}, err
	}
	return s.Get(ctx, req)
}

// Set writes through the connected store.
func (l *Lazy) Set(ctx context.Context, req *SetRequest) error {
	s, err := l.get()
	if err != nil {
		return err
	}
	return s.Set(ctx, req)
}

// Delete deletes through the connected store.
func (l *Lazy) Delete(ctx context.Context, req *DeleteRequest) error {
	s, err := l.get()
	if err != nil {
		return err
	}
	return s.Delete(ctx, req)
}

// BulkGet reads through the connected store.
func (l *Lazy) BulkGet(ctx context.Context, reqs []GetRequest, parallelism int) ([]BulkGetItem, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	return s.BulkGet(ctx, reqs, parallelism)
}

// BulkSet writes through the connected store.
func (l *Lazy) BulkSet(ctx context.Context, reqs []SetRequest) error {
	s, err := l.get()
	if err != nil {
		return err
	}
	return s.BulkSet(ctx, reqs)
}

// Multi runs a transaction on the connected store.
func (l *Lazy) Multi(ctx context.Context, req *TransactionRequest) error {
	s, err := l.get()
	if err != nil {
		return err
	}
	tx, ok := s.(Transactional)
	if !ok {
		return errors.New("state store " + l.name + " does not support transactions")
	}
	return tx.Multi(ctx, req)
}

// Query runs a query on the connected store.
func (l *Lazy) Query(ctx context.Context, req *QueryRequest) (*QueryResponse, error) {
	s, err := l.get()
	if err != nil {
		return nil, err
	}
	q, ok := s.(Querier)
	if !ok {
		return nil, errors.New("state store " + l.name + " does not support queries")
	}
	return q.Query(ctx, req)
}

// AsyncGets is true: reads go to the store's AsyncGetter when it has one,
// else each runs on a goroutine of its own.
func (l *Lazy) AsyncGets() bool { return true }

// GetAsync reads key without blocking the caller.
func (l *Lazy) GetAsync(key string, done func(GetResponse, error)) {
	s, err := l.get()
	if err != nil {
		go done(GetResponse{}, err)
		return
	}
	if ag, ok := s.(AsyncGetter); ok && ag.AsyncGets() {
		ag.GetAsync(key, done)
		return
	}
	go func() {
		r, err := s.Get(context.Background(), &GetRequest{Key: key})
		done(r, err)
	}()
}

// Close stops connecting and closes the store if it connected.
func (l *Lazy) Close() error { return l.conn.Close(Store.Close) }
