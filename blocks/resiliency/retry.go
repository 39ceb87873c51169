package resiliency

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Back-off kinds.
const (
	policyConstant = iota
	policyExponential
)

// retrySpec is a parsed retries entry, with dapr/kit's defaults: constant
// 5s; exponential from 500ms, ×1.5, ±50% jitter, capped at maxInterval
// (60s), giving up after 15 minutes; maxRetries -1 retries forever.
type retrySpec struct {
	name        string
	policy      int
	duration    time.Duration
	initial     time.Duration
	multiplier  float64
	jitter      float64
	maxInterval time.Duration
	maxElapsed  time.Duration
	maxRetries  int64
	httpCodes   []codeRange // nil: every status is retried
	grpcCodes   []codeRange
}

func defaultRetry(name string) *retrySpec {
	return &retrySpec{
		name: name, policy: policyConstant, duration: 5 * time.Second,
		initial: 500 * time.Millisecond, multiplier: 1.5, jitter: 0.5,
		maxInterval: 60 * time.Second, maxElapsed: 15 * time.Minute, maxRetries: -1,
	}
}

// backoff is one operation's retry schedule.
type backoff struct {
	spec    *retrySpec
	retries int64
	current time.Duration
	start   time.Time
	rnd     func() float64
}

// next returns the wait before the next attempt, or false to give up.
func (b *backoff) next(now time.Time) (time.Duration, bool) {
	s := b.spec
	if s.maxRetries >= 0 && b.retries >= s.maxRetries {
		return 0, false
	}
	b.retries++
	if s.policy == policyConstant {
		return s.duration, true
	}
	if s.maxElapsed > 0 && now.Sub(b.start) > s.maxElapsed {
		return 0, false
	}
	cur := b.current
	if cur == 0 {
		cur = s.initial
	}
	// Next interval grows by multiplier, capped (cenkalti/backoff's order:
	// randomise the current value, then grow it).
	if float64(cur) >= float64(s.maxInterval)/s.multiplier {
		b.current = s.maxInterval
	} else {
		b.current = time.Duration(float64(cur) * s.multiplier)
	}
	if s.jitter == 0 {
		return cur, true
	}
	delta := s.jitter * float64(cur)
	lo := float64(cur) - delta
	r := rand.Float64
	if b.rnd != nil {
		r = b.rnd
	}
	return time.Duration(lo + r()*(2*delta+1)), true
}

// codeRange is an inclusive range of status codes.
type codeRange struct{ lo, hi int }

// CodeError is an operation's failure that carries a status: an HTTP
// status (100–599) or a gRPC code (0–16). A retry policy with matching
// lists retries it only when the code is listed.
type CodeError struct {
	Code int
	Err  error
}

func (e *CodeError) Error() string {
	if e.Err == nil {
		return "received non-successful status code in response: " + strconv.Itoa(e.Code)
	}
	return e.Err.Error()
}

func (e *CodeError) Unwrap() error { return e.Err }

// retriable tells whether err may be retried under s's matching lists.
func (s *retrySpec) retriable(err error) bool {
	var ce *CodeError
	if !errors.As(err, &ce) {
		return true
	}
	ranges := s.httpCodes
	if ce.Code >= 0 && ce.Code <= 16 {
		ranges = s.grpcCodes
	}
	if ranges == nil {
		return true
	}
	for _, r := range ranges {
		if r.lo <= ce.Code && ce.Code <= r.hi {
			return true
		}
	}
	return false
}

// parseCodes reads a matching list: "500,502-504", each code in [lo, hi].
func parseCodes(list string, lo, hi int) ([]codeRange, error) {
	if list == "" {
		return nil, nil
	}
	var out []codeRange
	for _, p := range strings.Split(list, ",") {
		if p == "" {
			continue
		}
		parts := strings.Split(p, "-")
		if len(parts) > 2 {
			return nil, fmt.Errorf("invalid pattern %s, more than one '-' exists", p)
		}
		a, err := strconv.Atoi(parts[0])
		if err != nil {
			return nil, fmt.Errorf("failed to parse start code %s from pattern %s to int: %w", parts[0], p, err)
		}
		if a < lo || a > hi {
			return nil, fmt.Errorf("invalid pattern %s, start code %d is not valid", p, a)
		}
		b := a
		if len(parts) == 2 {
			if b, err = strconv.Atoi(parts[1]); err != nil {
				return nil, fmt.Errorf("failed to parse end code %s from pattern %s to int: %w", parts[1], p, err)
			}
		}
		if b < lo || b > hi {
			return nil, fmt.Errorf("invalid pattern %s, end code %d is not valid", p, b)
		}
		if b < a {
			return nil, fmt.Errorf("invalid pattern %s, start value should not bigger than end value", p)
		}
		out = append(out, codeRange{a, b})
	}
	return out, nil
}

// parseDuration is daprd's: a bare integer is milliseconds.
func parseDuration(v string) (time.Duration, error) {
	if i, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(i) * time.Millisecond, nil
	}
	return time.ParseDuration(v)
}
