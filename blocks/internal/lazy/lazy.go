package lazy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff bounds for the connection attempts.
var (
	MinDelay = 100 * time.Millisecond
	MaxDelay = 5 * time.Second
)

// Conn is a backend connection of type T made in the background.
type Conn[T any] struct {
	what    string // "state store x", "binding x": names the component in errors
	connect func(ctx context.Context) (T, error)

	val     atomic.Pointer[T]
	lastErr atomic.Pointer[error]
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// New starts connecting with connect, called again with backoff until it
// succeeds or Close is called. what names the component in errors.
func New[T any](what string, connect func(ctx context.Context) (T, error)) *Conn[T] {
	c := &Conn[T]{what: what, connect: connect, done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	err := fmt.Errorf("%s is connecting", what)
	c.lastErr.Store(&err)
	go c.run()
	return c
}

func (c *Conn[T]) run() {
	defer close(c.done)
	delay := MinDelay
	for {
		v, err := c.connect(c.ctx)
		if err == nil {
			c.val.Store(&v)
			c.lastErr.Store(nil)
			return
		}
		err = fmt.Errorf("%s is not ready: %w", c.what, err)
		c.lastErr.Store(&err)
		select {
		case <-c.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, MaxDelay)
	}
}

// Ready returns nil once connected, else why not.
func (c *Conn[T]) Ready() error {
	if p := c.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Wait blocks until connected (or given up by Close) or ctx ends.
func (c *Conn[T]) Wait(ctx context.Context) error {
	select {
	case <-c.done:
		return c.Ready()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Value returns the connected value, or ok false.
func (c *Conn[T]) Value() (v T, ok bool) {
	if p := c.val.Load(); p != nil {
		return *p, true
	}
	return v, false
}

// Get returns the connected value, else the error saying why there is none.
func (c *Conn[T]) Get() (T, error) {
	if p := c.val.Load(); p != nil {
		return *p, nil
	}
	var zero T
	if err := c.Ready(); err != nil {
		return zero, err
	}
	return zero, errors.New(c.what + " is closed")
}

// Close stops connecting and, if the backend connected, closes it with
// closeFn (which may be nil). Later calls do nothing.
func (c *Conn[T]) Close(closeFn func(T) error) error {
	var err error
	c.once.Do(func() {
		c.cancel()
		<-c.done
		if v, ok := c.Value(); ok && closeFn != nil {
			err = closeFn(v)
		}
		c.val.Store(nil)
		e := errors.New(c.what + " is closed")
		c.lastErr.Store(&e)
	})
	return err
}
