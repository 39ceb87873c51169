package resiliency

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
)

// The errors a breaker answers instead of running the operation; daprd's
// (gobreaker's) wording, which reaches clients in error messages.
var (
	ErrOpenState       = errors.New("circuit breaker is open")
	ErrTooManyRequests = errors.New("too many requests")
)

// BreakerState is a circuit breaker's state.
type BreakerState int

// The states, named as daprd logs and labels them.
const (
	StateClosed BreakerState = iota
	StateHalfOpen
	StateOpen
)

func (s BreakerState) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("unknown state: %d", int(s))
}

// Counts are the breaker's counters of the current generation; the trip
// expression sees them under daprd's names.
type Counts struct {
	Requests             uint32
	TotalSuccesses       uint32
	TotalFailures        uint32
	ConsecutiveSuccesses uint32
	ConsecutiveFailures  uint32
}

// breakerSpec is a parsed circuitBreakers entry, the template of the
// breaker instances (one per component, one per app endpoint).
type breakerSpec struct {
	name        string
	maxRequests uint32        // half-open probes; 0 means 1
	interval    time.Duration // closed-state count reset period; 0 never
	timeout     time.Duration // open → half-open; 0 means 60s
	trip        cel.Program   // nil: consecutiveFailures > 5
	tripSrc     string
}

// Breaker is one circuit breaker instance, with gobreaker's state machine
// (what daprd uses): closed counts results and opens when trip is true
// after a failure; open refuses calls for timeout, then half-open lets
// maxRequests calls through: as many consecutive successes close it, one
// failure opens it again. In closed state with interval > 0, the counts are
// cleared every interval.
type Breaker struct {
	spec     *breakerSpec
	name     string
	clock    Clock
	onChange func(b *Breaker, from, to BreakerState)

	mu         sync.Mutex
	state      BreakerState
	generation uint64
	counts     Counts
	expiry     time.Time
}

func newBreaker(spec *breakerSpec, name string, clock Clock, onChange func(*Breaker, BreakerState, BreakerState)) *Breaker {
	b := &Breaker{spec: spec, name: name, clock: clock, onChange: onChange}
	b.newGeneration(clock.Now())
	return b
}

// Name is the instance's name (daprd: policy name and target).
func (b *Breaker) Name() string { return b.name }

// State returns the current state, as of now.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, _ := b.current(b.clock.Now())
	return s
}

// Counts returns a copy of the current counts.
func (b *Breaker) Counts() Counts {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.counts
}

func (b *Breaker) maxRequests() uint32 {
	if b.spec.maxRequests == 0 {
		return 1
	}
	return b.spec.maxRequests
}

// Execute runs op if the breaker lets it, and records its result.
func (b *Breaker) Execute(op func() error) error {
	gen, err := b.before()
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			b.after(gen, false)
			panic(p)
		}
	}()
	err = op()
	b.after(gen, err == nil)
	return err
}

func (b *Breaker) before() (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	state, gen := b.current(b.clock.Now())
	switch {
	case state == StateOpen:
		return gen, ErrOpenState
	case state == StateHalfOpen && b.counts.Requests >= b.maxRequests():
		return gen, ErrTooManyRequests
	}
	b.counts.Requests++
	return gen, nil
}

func (b *Breaker) after(before uint64, success bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	state, gen := b.current(now)
	if gen != before {
		return // a result of a past generation counts no more
	}
	if success {
		b.counts.TotalSuccesses++
		b.counts.ConsecutiveSuccesses++
		b.counts.ConsecutiveFailures = 0
		if state == StateHalfOpen && b.counts.ConsecutiveSuccesses >= b.maxRequests() {
			b.setState(StateClosed, now)
		}
		return
	}
	b.counts.TotalFailures++
	b.counts.ConsecutiveFailures++
	b.counts.ConsecutiveSuccesses = 0
	switch state {
	case StateClosed:
		if b.readyToTrip() {
			b.setState(StateOpen, now)
		}
	case StateHalfOpen:
		b.setState(StateOpen, now)
	}
}

func (b *Breaker) readyToTrip() bool {
	c := b.counts
	if b.spec.trip == nil {
		return c.ConsecutiveFailures > 5
	}
	out, _, err := b.spec.trip.Eval(map[string]any{
		"requests":             int64(c.Requests),
		"totalSuccesses":       int64(c.TotalSuccesses),
		"totalFailures":        int64(c.TotalFailures),
		"consecutiveSuccesses": int64(c.ConsecutiveSuccesses),
		"consecutiveFailures":  int64(c.ConsecutiveFailures),
	})
	if err != nil {
		return false // daprd: an expression that fails to evaluate never trips
	}
	v, ok := out.Value().(bool)
	return ok && v
}

// current moves the state on by time (closed: new generation each
// interval; open: half-open once timeout has passed). Locked.
func (b *Breaker) current(now time.Time) (BreakerState, uint64) {
	switch b.state {
	case StateClosed:
		if !b.expiry.IsZero() && b.expiry.Before(now) {
			b.newGeneration(now)
		}
	case StateOpen:
		if b.expiry.Before(now) {
			b.setState(StateHalfOpen, now)
		}
	}
	return b.state, b.generation
}

func (b *Breaker) setState(s BreakerState, now time.Time) {
	if b.state == s {
		return
	}
	prev := b.state
	b.state = s
	b.newGeneration(now)
	if b.onChange != nil {
		b.onChange(b, prev, s)
	}
}

func (b *Breaker) newGeneration(now time.Time) {
	b.generation++
	b.counts = Counts{}
	var zero time.Time
	switch b.state {
	case StateClosed:
		if b.spec.interval == 0 {
			b.expiry = zero
		} else {
			b.expiry = now.Add(b.spec.interval)
		}
	case StateOpen:
		t := b.spec.timeout
		if t == 0 {
			t = 60 * time.Second
		}
		b.expiry = now.Add(t)
	default:
		b.expiry = zero
	}
}

// tripEnv declares the variables a trip expression may use.
var tripEnv = sync.OnceValue(func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("requests", cel.IntType),
		cel.Variable("totalSuccesses", cel.IntType),
		cel.Variable("totalFailures", cel.IntType),
		cel.Variable("consecutiveSuccesses", cel.IntType),
		cel.Variable("consecutiveFailures", cel.IntType),
	)
	if err != nil {
		panic(err)
	}
	return env
})

// compileTrip compiles a trip expression; it must be boolean.
func compileTrip(env *cel.Env, src string) (cel.Program, error) {
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("trip %q is not a boolean expression", src)
	}
	return env.Program(ast)
}
