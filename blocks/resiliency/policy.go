package resiliency

import (
	"context"
	"errors"
	"time"
)

// Policy is the timeout, retry and circuit breaker that apply to one target
// (a component in one direction, an app endpoint). A nil *Policy runs an
// operation once, as is.
type Policy struct {
	r       *Resiliency
	target  string // daprd's metric target label: "app_<id>", "Statestore_<name>"…
	flow    string // "inbound" or "outbound"
	timeout TimeoutSpec
	retry   *retrySpec
	breaker *Breaker
}

// TimeoutSpec is a named timeout.
type TimeoutSpec struct {
	Name string
	D    time.Duration
}

// HasRetries reports whether an operation may run more than once (the
// caller must then be able to replay its input).
func (p *Policy) HasRetries() bool { return p != nil && p.retry != nil }

// Breaker returns the policy's circuit breaker instance, or nil.
func (p *Policy) Breaker() *Breaker {
	if p == nil {
		return nil
	}
	return p.breaker
}

// permanent marks an error that must not be retried.
type permanent struct{ err error }

func (e *permanent) Error() string { return e.err.Error() }
func (e *permanent) Unwrap() error { return e.err }

// Permanent wraps err so that Run returns it at once, without retrying
// (Run unwraps it again).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// Run runs op under the policy: each attempt bounded by the timeout and
// guarded by the breaker, attempts repeated on failure as the retry policy
// says. A timeout is context.DeadlineExceeded (daprd's "context deadline
// exceeded"); a refusal by the breaker is ErrOpenState or ErrTooManyRequests
// and is never retried. The last attempt's error is returned.
func (p *Policy) Run(ctx context.Context, op func(ctx context.Context) error) error {
	if p == nil {
		return unwrapPermanent(op(ctx))
	}
	p.r.executed(p)
	if p.retry == nil {
		return unwrapPermanent(p.attempt(ctx, op))
	}
	bo := backoff{spec: p.retry, start: p.r.clock.Now()}
	for {
		err := p.attempt(ctx, op)
		if err == nil {
			return nil
		}
		var perm *permanent
		if errors.As(err, &perm) || errors.Is(err, ErrOpenState) || errors.Is(err, ErrTooManyRequests) ||
			!p.retry.retriable(err) {
			return unwrapPermanent(err)
		}
		wait, ok := bo.next(p.r.clock.Now())
		if !ok {
			return err
		}
		p.r.activated(p, "retry", "")
		if ctx.Err() != nil || !p.sleep(ctx, wait) {
			return err
		}
	}
}

func unwrapPermanent(err error) error {
	var perm *permanent
	if errors.As(err, &perm) {
		return perm.err
	}
	return err
}

// attempt is one try: the breaker around the timeout around op.
func (p *Policy) attempt(ctx context.Context, op func(ctx context.Context) error) error {
	if p.breaker == nil {
		return p.timed(ctx, op)
	}
	return p.breaker.Execute(func() error { return p.timed(ctx, op) })
}

// timed runs op with the timeout. When it fires, op's context is cancelled
// and Run waits for op to return: op's buffers are the caller's, so it must
// not outlive the call (every operation here honours its context).
func (p *Policy) timed(ctx context.Context, op func(ctx context.Context) error) error {
	d := p.timeout.D
	if d <= 0 {
		return op(ctx)
	}
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := p.r.clock.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	err := op(tctx)
	t.Stop()
	if ctx.Err() == nil && errors.Is(context.Cause(tctx), context.DeadlineExceeded) {
		p.r.activated(p, "timeout", "")
		return context.DeadlineExceeded
	}
	return err
}

// sleep waits d or until ctx ends; false when ctx ended.
func (p *Policy) sleep(ctx context.Context, d time.Duration) bool {
	done := make(chan struct{})
	t := p.r.clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

// WithoutRetries returns p with its timeout and breaker but a single
// attempt: for a call whose input cannot be replayed (a streamed body
// larger than the replay buffer).
func (p *Policy) WithoutRetries() *Policy {
	if p == nil || p.retry == nil {
		return p
	}
	q := *p
	q.retry = nil
	if q.timeout.D == 0 && q.breaker == nil {
		return nil
	}
	return &q
}
