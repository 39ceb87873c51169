package resiliency

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/resources"
)

func ptr(i int) *int { return &i }

func doc(p resources.ResiliencyPolicies, t resources.ResiliencyTargets) []resources.Resiliency {
	return []resources.Resiliency{{Name: "res", Spec: resources.ResiliencySpec{Policies: p, Targets: t}, File: "r.yaml", Line: 1}}
}

type obs struct {
	mu          sync.Mutex
	loaded      []string
	executed    []string
	activations []string
}

func (o *obs) Loaded(name, ns string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.loaded = append(o.loaded, name)
}

func (o *obs) Executed(name, ns, policy, flow, target, status string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.executed = append(o.executed, policy+"/"+flow+"/"+target+"/"+status)
}

func (o *obs) Activated(name, ns, policy, flow, target, status string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.activations = append(o.activations, policy+"/"+flow+"/"+target+"/"+status)
}

func mustNew(t *testing.T, docs []resources.Resiliency, clk Clock, o Observer) *Resiliency {
	t.Helper()
	r, err := New(docs, Options{Clock: clk, Observer: o})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var errBoom = errors.New("boom")

func TestConstantRetryCountsAndWaits(t *testing.T) {
	clk := newFakeClock()
	r := mustNew(t, doc(resources.ResiliencyPolicies{
		Retries: map[string]resources.Retry{"three": {Policy: "constant", Duration: "2s", MaxRetries: ptr(3)}},
	}, resources.ResiliencyTargets{
		Components: map[string]resources.ComponentPolicyNames{"store": {Outbound: resources.PolicyNames{Retry: "three"}}},
	}), clk, nil)
	p := r.ComponentOutbound("store", Statestore)
	if !p.HasRetries() {
		t.Fatal("no retries")
	}
	start := clk.Now()
	attempts := 0
	err := drive(clk, func() error {
		return p.Run(context.Background(), func(context.Context) error { attempts++; return errBoom })
	})
	if !errors.Is(err, errBoom) || attempts != 4 {
		t.Fatalf("err %v attempts %d, want boom after 4 (1 + maxRetries 3)", err, attempts)
	}
	if got := clk.Now().Sub(start); got != 6*time.Second {
		t.Fatalf("waited %v, want 3 × 2s", got)
	}
}

func TestRetryForeverUntilSuccess(t *testing.T) {
	clk := newFakeClock()
	r := mustNew(t, doc(resources.ResiliencyPolicies{
		Retries: map[string]resources.Retry{"forever": {Duration: "10ms", MaxRetries: ptr(-1)}},
	}, resources.ResiliencyTargets{
		Components: map[string]resources.ComponentPolicyNames{"ps": {Outbound: resources.PolicyNames{Retry: "forever"}}},
	}), clk, nil)
	attempts := 0
	err := drive(clk, func() error {
		return r.ComponentOutbound("ps", Pubsub).Run(context.Background(), func(context.Context) error {
			attempts++
			if attempts < 25 {
				return errBoom
			}
			return nil
		})
	})
	if err != nil || attempts != 25 {
		t.Fatalf("err %v attempts %d", err, attempts)
	}
}

func TestDefaultRetryIsConstantFiveSecondsForever(t *testing.T) {
	s, err := decodeRetry("x", resources.Retry{})
	if err != nil {
		t.Fatal(err)
	}
	if s.policy != policyConstant || s.duration != 5*time.Second || s.maxRetries != -1 || s.maxInterval != 60*time.Second {
		t.Fatalf("defaults %+v", s)
	}
	if _, err := decodeRetry("x", resources.Retry{Policy: "linear"}); err == nil {
		t.Fatal("unknown policy accepted")
	}
	if _, err := decodeRetry("x", resources.Retry{Duration: "soon"}); err == nil {
		t.Fatal("bad duration accepted")
	}
}

func TestExponentialBackoffGrowsToMaxInterval(t *testing.T) {
	s, err := decodeRetry("e", resources.Retry{Policy: "exponential", MaxInterval: "3s", MaxRetries: ptr(8)})
	if err != nil {
		t.Fatal(err)
	}
	b := backoff{spec: s, start: time.Unix(0, 0), rnd: func() float64 { return 0.5 }}
	var got []time.Duration
	for {
		d, ok := b.next(time.Unix(0, 0))
		if !ok {
			break
		}
		got = append(got, d.Round(time.Millisecond))
	}
	want := []time.Duration{500, 750, 1125, 1688, 2531, 3000, 3000, 3000}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("interval %d: got %v want %v (all %v)", i, got[i], want[i]*time.Millisecond, got)
		}
	}
	// Jitter stays within ±50%.
	b = backoff{spec: s, start: time.Unix(0, 0)}
	for range 50 {
		d, _ := b.next(time.Unix(0, 0))
		if d < 250*time.Millisecond || d > 4501*time.Millisecond {
			t.Fatalf("interval %v out of bounds", d)
		}
		b.retries = 0
	}
	// Exponential gives up after 15 minutes of retrying.
	s.maxRetries = -1
	b = backoff{spec: s, start: time.Unix(0, 0)}
	if _, ok := b.next(time.Unix(0, 0).Add(16 * time.Minute)); ok {
		t.Fatal("retried past maxElapsedTime")
	}
}

func TestRetryMatchingStatusCodes(t *testing.T) {
	clk := newFakeClock()
	r := mustNew(t, doc(resources.ResiliencyPolicies{
		Retries: map[string]resources.Retry{"m": {Duration: "1s", MaxRetries: ptr(2), Matching: &resources.RetryMatching{
			HTTPStatusCodes: "500-503,429", GRPCStatusCodes: "14",
		}}},
	}, resources.ResiliencyTargets{Apps: map[string]resources.EndpointPolicyNames{"app": {Retry: "m"}}}), clk, nil)
	p := r.App("app").For("m")
	for _, c := range []struct {
		code     int
		attempts int
	}{{502, 3}, {429, 3}, {404, 1}, {504, 1}, {14, 3}, {2, 1}} {
		n := 0
		err := drive(clk, func() error {
			return p.Run(context.Background(), func(context.Context) error { n++; return &CodeError{Code: c.code} })
		})
		var ce *CodeError
		if !errors.As(err, &ce) || ce.Code != c.code || n != c.attempts {
			t.Errorf("code %d: err %v attempts %d, want %d", c.code, err, n, c.attempts)
		}
	}
	// Plain errors (no status) are always retried.
	n := 0
	_ = drive(clk, func() error {
		return p.Run(context.Background(), func(context.Context) error { n++; return errBoom })
	})
	if n != 3 {
		t.Fatalf("plain error attempts %d", n)
	}
}

func TestParseCodes(t *testing.T) {
	got, err := parseCodes("500,502-504,,429", 100, 599)
	if err != nil || len(got) != 3 || got[1] != (codeRange{502, 504}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"99", "600", "a", "500-", "504-502", "1-2-3", "500-600"} {
		if _, err := parseCodes(bad, 100, 599); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := parseCodes("17", 0, 16); err == nil {
		t.Error("gRPC code 17 accepted")
	}
	var buf strings.Builder
	docs := doc(resources.ResiliencyPolicies{Retries: map[string]resources.Retry{
		"bad": {Matching: &resources.RetryMatching{HTTPStatusCodes: "700"}},
	}}, resources.ResiliencyTargets{Apps: map[string]resources.EndpointPolicyNames{"app": {Retry: "bad"}}})
	good := doc(resources.ResiliencyPolicies{Retries: map[string]resources.Retry{"ok": {}}},
		resources.ResiliencyTargets{Apps: map[string]resources.EndpointPolicyNames{"other": {Retry: "ok"}}})
	r, err := New(append(docs, good...), Options{Log: newTestLogger(&buf)})
	if err != nil || !strings.Contains(buf.String(), "r.yaml:1") || !strings.Contains(buf.String(), "invalid pattern 700") {
		t.Fatalf("bad matching: %v %s", err, buf.String())
	}
	if r.App("other") == nil || r.App("app") != nil {
		t.Fatal("the bad document was not skipped alone")
	}
}

func TestParseDurationBareIntegerIsMilliseconds(t *testing.T) {
	for in, want := range map[string]time.Duration{"250": 250 * time.Millisecond, "2s": 2 * time.Second, "1m30s": 90 * time.Second} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	if r := mustNew(t, doc(resources.ResiliencyPolicies{Timeouts: map[string]string{"t": "fast"}}, resources.ResiliencyTargets{}), nil, nil); len(r.timeouts) != 0 {
		t.Fatal("bad timeout accepted")
	}
}

func TestTimeoutFires(t *testing.T) {
	clk := newFakeClock()
	o := &obs{}
	r := mustNew(t, doc(resources.ResiliencyPolicies{Timeouts: map[string]string{"short": "1s"}},
		resources.ResiliencyTargets{Components: map[string]resources.ComponentPolicyNames{"store": {Outbound: resources.PolicyNames{Timeout: "short"}}}}), clk, o)
	p := r.ComponentOutbound("store", Statestore)
	var opErr error
	err := p.Run(context.Background(), func(ctx context.Context) error {
		clk.Advance(1500 * time.Millisecond) // the backend takes 1.5s
		opErr = ctx.Err()
		return ctx.Err()
	})
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "context deadline exceeded" {
		t.Fatalf("err %v", err)
	}
	if opErr == nil {
		t.Fatal("the operation's context was not cancelled")
	}
	// Fast enough: no timeout.
	if err := p.Run(context.Background(), func(ctx context.Context) error { clk.Advance(900 * time.Millisecond); return ctx.Err() }); err != nil {
		t.Fatal(err)
	}
	// An error of the operation itself is returned as is.
	if err := p.Run(context.Background(), func(context.Context) error { return errBoom }); !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	if len(o.activations) != 1 || o.activations[0] != "timeout/outbound/Statestore_store/" {
		t.Fatalf("activations %v", o.activations)
	}
}

func TestTimeoutThenRetry(t *testing.T) {
	clk := newFakeClock()
	r := mustNew(t, doc(resources.ResiliencyPolicies{
		Timeouts: map[string]string{"short": "1s"},
		Retries:  map[string]resources.Retry{"r": {Duration: "1s", MaxRetries: ptr(2)}},
	}, resources.ResiliencyTargets{Components: map[string]resources.ComponentPolicyNames{"b": {Outbound: resources.PolicyNames{Timeout: "short", Retry: "r"}}}}), clk, nil)
	n := 0
	err := drive(clk, func() error {
		return r.ComponentOutbound("b", Binding).Run(context.Background(), func(ctx context.Context) error {
			n++
			if n < 3 {
				clk.Advance(2 * time.Second) // times out
				return ctx.Err()
			}
			return nil
		})
	})
	if err != nil || n != 3 {
		t.Fatalf("err %v attempts %d", err, n)
	}
}

func breakerDoc(trip string, maxReq int, interval string) []resources.Resiliency {
	return doc(resources.ResiliencyPolicies{
		CircuitBreakers: map[string]resources.CircuitBreaker{"cb": {MaxRequests: maxReq, Interval: interval, Timeout: "30s", Trip: trip}},
	}, resources.ResiliencyTargets{Components: map[string]resources.ComponentPolicyNames{"store": {
		Outbound: resources.PolicyNames{CircuitBreaker: "cb"}, Inbound: resources.PolicyNames{CircuitBreaker: "cb"},
	}}})
}

func TestBreakerOpensHalfOpensCloses(t *testing.T) {
	clk := newFakeClock()
	o := &obs{}
	r := mustNew(t, breakerDoc("consecutiveFailures >= 3", 2, ""), clk, o)
	p := r.ComponentOutbound("store", Statestore)
	fail := func(context.Context) error { return errBoom }
	ok := func(context.Context) error { return nil }
	ctx := context.Background()
	for i := range 3 {
		if err := p.Run(ctx, fail); !errors.Is(err, errBoom) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	b := p.Breaker()
	if b.State() != StateOpen {
		t.Fatalf("state %v after 3 failures", b.State())
	}
	calls := 0
	if err := p.Run(ctx, func(context.Context) error { calls++; return nil }); !errors.Is(err, ErrOpenState) || calls != 0 || err.Error() != "circuit breaker is open" {
		t.Fatalf("open breaker ran the call: %v %d", err, calls)
	}
	clk.Advance(29 * time.Second)
	if b.State() != StateOpen {
		t.Fatal("half-open before timeout")
	}
	clk.Advance(2 * time.Second)
	if b.State() != StateHalfOpen {
		t.Fatalf("state %v after timeout", b.State())
	}
	// Half-open: a failure opens it again at once.
	if err := p.Run(ctx, fail); !errors.Is(err, errBoom) || b.State() != StateOpen {
		t.Fatalf("half-open failure: %v %v", err, b.State())
	}
	clk.Advance(31 * time.Second)
	// maxRequests 2: two probes pass, and two successes close it.
	if err := p.Run(ctx, ok); err != nil || b.State() != StateHalfOpen {
		t.Fatalf("probe 1: %v %v", err, b.State())
	}
	if err := p.Run(ctx, ok); err != nil || b.State() != StateClosed {
		t.Fatalf("probe 2: %v %v", err, b.State())
	}
	// The inbound direction shares the component's breaker, as in daprd.
	if r.ComponentInbound("store", Statestore).Breaker() != b {
		t.Fatal("inbound and outbound breakers differ")
	}
	want := []string{"circuitbreaker/outbound/Statestore_store/open", "circuitbreaker/outbound/Statestore_store/half-open",
		"circuitbreaker/outbound/Statestore_store/open", "circuitbreaker/outbound/Statestore_store/half-open",
		"circuitbreaker/outbound/Statestore_store/closed"}
	if strings.Join(o.activations, " ") != strings.Join(want, " ") {
		t.Fatalf("activations %v", o.activations)
	}
}

func TestBreakerHalfOpenLimitsProbes(t *testing.T) {
	clk := newFakeClock()
	r := mustNew(t, breakerDoc("consecutiveFailures > 0", 1, ""), clk, nil)
	p := r.ComponentOutbound("store", Statestore)
	_ = p.Run(context.Background(), func(context.Context) error { return errBoom })
	clk.Advance(31 * time.Second)
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_ = p.Run(context.Background(), func(context.Context) error { close(started); <-release; return nil })
	}()
	<-started
	if err := p.Run(context.Background(), func(context.Context) error { return nil }); !errors.Is(err, ErrTooManyRequests) {
		t.Fatalf("second probe: %v", err)
	}
	close(release)
}

func TestBreakerDefaultTripAndInterval(t *testing.T) {
	clk := newFakeClock()
	r := mustNew(t, breakerDoc("", 0, "10s"), clk, nil)
	p := r.ComponentOutbound("store", Statestore)
	for range 5 {
		_ = p.Run(context.Background(), func(context.Context) error { return errBoom })
	}
	if p.Breaker().State() != StateClosed {
		t.Fatal("opened at 5 consecutive failures; daprd's default is > 5")
	}
	// The interval clears the counts in closed state.
	clk.Advance(11 * time.Second)
	for range 5 {
		_ = p.Run(context.Background(), func(context.Context) error { return errBoom })
	}
	if p.Breaker().State() != StateClosed || p.Breaker().Counts().ConsecutiveFailures != 5 {
		t.Fatalf("counts not cleared: %+v", p.Breaker().Counts())
	}
	_ = p.Run(context.Background(), func(context.Context) error { return errBoom })
	if p.Breaker().State() != StateOpen {
		t.Fatal("not open after 6 consecutive failures")
	}
	// Default timeout 60s when none is given.
	r = mustNew(t, doc(resources.ResiliencyPolicies{CircuitBreakers: map[string]resources.CircuitBreaker{"cb": {Trip: "totalFailures > 0 && requests >= 1"}}},
		resources.ResiliencyTargets{Components: map[string]resources.ComponentPolicyNames{"s": {Outbound: resources.PolicyNames{CircuitBreaker: "cb"}}}}), clk, nil)
	p = r.ComponentOutbound("s", Statestore)
	_ = p.Run(context.Background(), func(context.Context) error { return errBoom })
	clk.Advance(59 * time.Second)
	if p.Breaker().State() != StateOpen {
		t.Fatal("left open state before 60s")
	}
	clk.Advance(2 * time.Second)
	if p.Breaker().State() != StateHalfOpen {
		t.Fatal("still open after 60s")
	}
}

func TestBreakerStopsRetries(t *testing.T) {
	clk := newFakeClock()
	r := mustNew(t, doc(resources.ResiliencyPolicies{
		Retries:         map[string]resources.Retry{"r": {Duration: "1s", MaxRetries: ptr(10)}},
		CircuitBreakers: map[string]resources.CircuitBreaker{"cb": {Trip: "consecutiveFailures >= 2", Timeout: "1m"}},
	}, resources.ResiliencyTargets{Components: map[string]resources.ComponentPolicyNames{"s": {Outbound: resources.PolicyNames{Retry: "r", CircuitBreaker: "cb"}}}}), clk, nil)
	n := 0
	err := drive(clk, func() error {
		return r.ComponentOutbound("s", Statestore).Run(context.Background(), func(context.Context) error { n++; return errBoom })
	})
	if !errors.Is(err, ErrOpenState) || n != 2 {
		t.Fatalf("err %v attempts %d", err, n)
	}
}

func TestBadTripExpressions(t *testing.T) {
	for _, trip := range []string{"consecutiveFailures >", "consecutiveFailures + 1", "unknownVar > 1"} {
		if r := mustNew(t, breakerDoc(trip, 1, ""), nil, nil); len(r.breakers) != 0 {
			t.Errorf("trip %q accepted", trip)
		}
	}
	if r := mustNew(t, doc(resources.ResiliencyPolicies{CircuitBreakers: map[string]resources.CircuitBreaker{"cb": {Interval: "x"}}}, resources.ResiliencyTargets{}), nil, nil); len(r.breakers) != 0 {
		t.Error("bad interval accepted")
	}
}

func TestDefaultPolicyPrecedence(t *testing.T) {
	r := mustNew(t, doc(resources.ResiliencyPolicies{
		Timeouts: map[string]string{
			"DefaultTimeoutPolicy": "1s", "DefaultComponentTimeoutPolicy": "2s",
			"DefaultComponentOutboundTimeoutPolicy": "3s", "DefaultStatestoreComponentOutboundTimeoutPolicy": "4s",
			"DefaultAppTimeoutPolicy": "5s", "named": "6s",
		},
		Retries: map[string]resources.Retry{"DefaultRetryPolicy": {MaxRetries: ptr(1)}, "DefaultPubsubComponentInboundRetryPolicy": {MaxRetries: ptr(7)}},
	}, resources.ResiliencyTargets{
		Components: map[string]resources.ComponentPolicyNames{"named": {Outbound: resources.PolicyNames{Timeout: "named"}}},
	}), nil, nil)
	for _, c := range []struct {
		p       *Policy
		timeout time.Duration
		retry   string
	}{
		{r.ComponentOutbound("s", Statestore), 4 * time.Second, "DefaultRetryPolicy"},
		{r.ComponentOutbound("p", Pubsub), 3 * time.Second, "DefaultRetryPolicy"},
		{r.ComponentInbound("p", Pubsub), 2 * time.Second, "DefaultPubsubComponentInboundRetryPolicy"},
		{r.ComponentInbound("b", Binding), 2 * time.Second, "DefaultRetryPolicy"},
		{r.App("other").For("m"), 5 * time.Second, "DefaultRetryPolicy"},
		// A named target takes only its own policies.
		{r.ComponentOutbound("named", Statestore), 6 * time.Second, ""},
	} {
		name := ""
		if c.p.retry != nil {
			name = c.p.retry.name
		}
		if c.p.timeout.D != c.timeout || name != c.retry {
			t.Errorf("%s: timeout %v retry %q, want %v %q", c.p.target, c.p.timeout.D, name, c.timeout, c.retry)
		}
	}
	if p := r.ComponentInbound("named", Statestore); p != nil {
		t.Fatalf("named target's empty inbound got %+v", p)
	}
	// Nothing configured: nil policy, Run calls once.
	r = mustNew(t, nil, nil, nil)
	if r.ComponentOutbound("s", Statestore) != nil || r.App("a") != nil {
		t.Fatal("policy without documents")
	}
	var nilPolicy *Policy
	n := 0
	if err := nilPolicy.Run(context.Background(), func(context.Context) error { n++; return Permanent(errBoom) }); !errors.Is(err, errBoom) || n != 1 {
		t.Fatal(err)
	}
}

func TestBuiltInOverrides(t *testing.T) {
	r := mustNew(t, nil, nil, nil)
	if s := r.BuiltIn(BuiltInServiceRetries).retry; s.duration != time.Second || s.maxRetries != 3 || s.policy != policyConstant {
		t.Fatalf("service retries %+v", s)
	}
	r = mustNew(t, doc(resources.ResiliencyPolicies{Retries: map[string]resources.Retry{
		BuiltInServiceRetries:       {Duration: "2s", MaxRetries: ptr(1)},
		BuiltInActorNotFoundRetries: {MaxRetries: ptr(10)},
	}}, resources.ResiliencyTargets{}), nil, nil)
	if s := r.BuiltIn(BuiltInServiceRetries).retry; s.duration != 2*time.Second || s.maxRetries != 3 {
		t.Fatalf("override %+v (fewer than 3 retries is raised to 3)", s)
	}
	if s := r.BuiltIn(BuiltInActorNotFoundRetries).retry; s.maxRetries != 5 {
		t.Fatalf("protected policy overridden: %+v", s)
	}
	if r.BuiltIn("nope") != nil {
		t.Fatal("unknown built-in")
	}
}

func TestAppBreakersPerEndpoint(t *testing.T) {
	clk := newFakeClock()
	r := mustNew(t, doc(resources.ResiliencyPolicies{
		CircuitBreakers: map[string]resources.CircuitBreaker{"cb": {Trip: "consecutiveFailures > 0", Timeout: "1m"}},
	}, resources.ResiliencyTargets{Apps: map[string]resources.EndpointPolicyNames{"app": {CircuitBreaker: "cb", CircuitBreakerCacheSize: 2}}}), clk, nil)
	ap := r.App("app")
	if ap.HasRetries() {
		t.Fatal("retries without a retry policy")
	}
	_ = ap.For("a").Run(context.Background(), func(context.Context) error { return errBoom })
	if ap.For("a").Breaker().State() != StateOpen || ap.For("b").Breaker().State() != StateClosed {
		t.Fatal("breakers are not per method")
	}
	if r.App("app").For("a").Breaker() != ap.For("a").Breaker() {
		t.Fatal("breaker instance not kept")
	}
	ap.For("c") // evicts "a" (cache size 2)
	if ap.For("a").Breaker().State() != StateClosed {
		t.Fatal("cache size not honoured")
	}
}

func TestActorsIgnoredAndUndefinedNamesWarned(t *testing.T) {
	var buf strings.Builder
	docs := doc(resources.ResiliencyPolicies{}, resources.ResiliencyTargets{
		Actors: map[string]resources.ActorPolicyNames{"a": {Retry: "x"}},
		Apps:   map[string]resources.EndpointPolicyNames{"app": {Retry: "missing"}},
	})
	r, err := New(docs, Options{Log: newTestLogger(&buf)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "actor targets are read but not applied") || !strings.Contains(buf.String(), "undefined retry missing") {
		t.Fatalf("log: %s", buf.String())
	}
	if r.App("app") != nil {
		t.Fatal("an undefined retry applied")
	}
}

func TestMetricsEvents(t *testing.T) {
	o := &obs{}
	r := mustNew(t, doc(resources.ResiliencyPolicies{Timeouts: map[string]string{"t": "1m"}, Retries: map[string]resources.Retry{"r": {MaxRetries: ptr(0)}}},
		resources.ResiliencyTargets{Apps: map[string]resources.EndpointPolicyNames{"app": {Timeout: "t", Retry: "r"}}}), nil, o)
	_ = r.App("app").For("m").Run(context.Background(), func(context.Context) error { return nil })
	if len(o.loaded) != 1 || strings.Join(o.executed, " ") != "timeout/outbound/app_app/ retry/outbound/app_app/" {
		t.Fatalf("loaded %v executed %v", o.loaded, o.executed)
	}
}
