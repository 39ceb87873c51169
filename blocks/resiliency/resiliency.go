package resiliency

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skiffd/skiff/blocks/resources"
)

// Built-in retry policies daprd applies on its own; a Resiliency document
// may override them by name (not with fewer than 3 retries).
const (
	BuiltInServiceRetries        = "DaprBuiltInServiceRetries"
	BuiltInActorRetries          = "DaprBuiltInActorRetries"
	BuiltInActorReminderRetries  = "DaprBuiltInActorReminderRetries"
	BuiltInActorNotFoundRetries  = "DaprBuiltInActorNotFoundRetries"
	BuiltInInitializationRetries = "DaprBuiltInInitializationRetries"
)

// ComponentKind is a component's building block, as daprd names it in the
// Default<Kind>Component<Direction>…Policy names.
type ComponentKind string

// The component kinds.
const (
	Statestore    ComponentKind = "Statestore"
	Pubsub        ComponentKind = "Pubsub"
	Binding       ComponentKind = "Binding"
	Secretstore   ComponentKind = "Secretstore"
	Configuration ComponentKind = "Configuration"
	Lock          ComponentKind = "Lock"
	Crypto        ComponentKind = "Crypto"
)

// Observer receives the resiliency metrics' events (daprd's
// dapr_resiliency_loaded, _count, _activations_total, _cb_state).
type Observer interface {
	Loaded(name, namespace string)
	// Executed: a policy was applied to an operation. status is the
	// breaker's state for circuit breakers, else "".
	Executed(name, namespace, policy, flow, target, status string)
	// Activated: a timeout fired, a retry happened, a breaker changed state.
	Activated(name, namespace, policy, flow, target, status string)
}

// Options tunes New.
type Options struct {
	Namespace string
	Log       *slog.Logger
	Clock     Clock    // nil: real time
	Observer  Observer // nil: no metrics
}

type names struct{ timeout, retry, breaker string }

type appTarget struct {
	names
	cacheSize int
}

// Resiliency holds the policies of every loaded document, merged (a later
// document's policy or target replaces an earlier one of the same name), and
// the breaker instances.
type Resiliency struct {
	name      string
	namespace string
	log       *slog.Logger
	clock     Clock
	obs       Observer

	timeouts map[string]time.Duration
	retries  map[string]*retrySpec
	breakers map[string]*breakerSpec

	apps       map[string]appTarget
	components map[string][2]names // [inbound, outbound]

	mu        sync.Mutex
	compCBs   map[string]*Breaker          // by component name (daprd shares it between directions)
	endpoints map[string]*endpointBreakers // by app id
}

// endpointBreakers is an app's breakers, one per endpoint (app:method), at
// most size of them (daprd's circuitBreakerCacheSize, default 100): the
// oldest is dropped to make room.
type endpointBreakers struct {
	size  int
	byKey map[string]*Breaker
	order []string
}

// New builds the engine from the loaded documents. Only in-scope documents
// reach it (the resources loader drops the others). As in daprd, a document
// with a malformed policy is logged (naming its file and line) and skipped;
// the others still apply.
func New(docs []resources.Resiliency, o Options) (*Resiliency, error) {
	r := &Resiliency{
		namespace: o.Namespace, log: o.Log, clock: o.Clock, obs: o.Observer,
		timeouts: map[string]time.Duration{}, retries: map[string]*retrySpec{}, breakers: map[string]*breakerSpec{},
		apps: map[string]appTarget{}, components: map[string][2]names{},
		compCBs: map[string]*Breaker{}, endpoints: map[string]*endpointBreakers{},
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.clock == nil {
		r.clock = realClock{}
	}
	r.addBuiltIns()
	for i := range docs {
		d := &docs[i]
		tmp := &Resiliency{log: r.log, timeouts: map[string]time.Duration{}, retries: map[string]*retrySpec{},
			breakers: map[string]*breakerSpec{}, apps: map[string]appTarget{}, components: map[string][2]names{}}
		if err := tmp.decode(d); err != nil {
			r.log.Error(fmt.Sprintf("Could not read resiliency policy %s (%s:%d): %v", d.Name, d.File, d.Line, err))
			continue
		}
		merge(r.timeouts, tmp.timeouts)
		merge(r.retries, tmp.retries)
		merge(r.breakers, tmp.breakers)
		merge(r.apps, tmp.apps)
		merge(r.components, tmp.components)
		r.name = d.Name
		r.log.Info("Loading Resiliency configuration: " + d.Name)
		if r.obs != nil {
			r.obs.Loaded(d.Name, r.namespace)
		}
	}
	r.checkNames()
	return r, nil
}

func merge[V any](dst, src map[string]V) {
	for k, v := range src {
		dst[k] = v
	}
}

func (r *Resiliency) addBuiltIns() {
	c := defaultRetry(BuiltInServiceRetries)
	c.duration, c.maxRetries = time.Second, 3
	r.retries[c.name] = c
	c = defaultRetry(BuiltInActorRetries)
	c.duration, c.maxRetries = time.Second, 3
	r.retries[c.name] = c
	c = defaultRetry(BuiltInActorReminderRetries)
	c.policy = policyExponential
	r.retries[c.name] = c
	c = defaultRetry(BuiltInInitializationRetries)
	c.policy, c.maxRetries, c.maxInterval, c.maxElapsed, c.duration = policyExponential, 3, time.Second, 10*time.Second, 2*time.Second
	r.retries[c.name] = c
	c = defaultRetry(BuiltInActorNotFoundRetries)
	c.duration, c.maxRetries = time.Second, 5
	r.retries[c.name] = c
}

func isBuiltIn(name string) bool {
	switch name {
	case BuiltInServiceRetries, BuiltInActorRetries, BuiltInActorReminderRetries,
		BuiltInInitializationRetries, BuiltInActorNotFoundRetries:
		return true
	}
	return false
}

func (r *Resiliency) decode(d *resources.Resiliency) error {
	p := d.Spec.Policies
	for _, name := range sortedKeys(p.Timeouts) {
		v, err := parseDuration(p.Timeouts[name])
		if err != nil {
			return fmt.Errorf("invalid duration %q, %s: %w", name, p.Timeouts[name], err)
		}
		r.timeouts[name] = v
	}
	for _, name := range sortedKeys(p.Retries) {
		spec, err := decodeRetry(name, p.Retries[name])
		if err != nil {
			return fmt.Errorf("invalid retry configuration %q: %w", name, err)
		}
		switch {
		case name == BuiltInActorNotFoundRetries:
			r.log.Warn("Attempted to override protected policy " + name + " which is not allowed. Ignoring provided policy and using default.")
			continue
		case isBuiltIn(name) && spec.maxRetries < 3:
			r.log.Warn("Attempted override of " + name + " did not meet minimum retry count, resetting to 3.")
			spec.maxRetries = 3
		}
		r.retries[name] = spec
	}
	env := tripEnv()
	for _, name := range sortedKeys(p.CircuitBreakers) {
		cb := p.CircuitBreakers[name]
		spec := &breakerSpec{name: name, tripSrc: cb.Trip}
		if cb.MaxRequests < 0 {
			return fmt.Errorf("circuit breaker %q: maxRequests %d is negative", name, cb.MaxRequests)
		}
		spec.maxRequests = uint32(cb.MaxRequests)
		var err error
		if cb.Interval != "" {
			if spec.interval, err = parseDuration(cb.Interval); err != nil {
				return fmt.Errorf("circuit breaker %q: interval: %w", name, err)
			}
		}
		if cb.Timeout != "" {
			if spec.timeout, err = parseDuration(cb.Timeout); err != nil {
				return fmt.Errorf("circuit breaker %q: timeout: %w", name, err)
			}
		}
		if cb.Trip != "" {
			if spec.trip, err = compileTrip(env, cb.Trip); err != nil {
				return fmt.Errorf("circuit breaker %q: trip: %w", name, err)
			}
		}
		r.breakers[name] = spec
	}
	t := d.Spec.Targets
	for app, n := range t.Apps {
		r.apps[app] = appTarget{names: names{n.Timeout, n.Retry, n.CircuitBreaker}, cacheSize: n.CircuitBreakerCacheSize}
	}
	for name, n := range t.Components {
		r.components[name] = [2]names{
			{n.Inbound.Timeout, n.Inbound.Retry, n.Inbound.CircuitBreaker},
			{n.Outbound.Timeout, n.Outbound.Retry, n.Outbound.CircuitBreaker},
		}
	}
	if len(t.Actors) > 0 {
		r.log.Warn("resiliency " + d.Name + ": actor targets are read but not applied (skiff has no actors)")
	}
	return nil
}

func decodeRetry(name string, in resources.Retry) (*retrySpec, error) {
	s := defaultRetry(name)
	switch strings.ToLower(in.Policy) {
	case "", "constant":
	case "exponential":
		s.policy = policyExponential
	default:
		return nil, fmt.Errorf("unexpected back off policy type: %s", in.Policy)
	}
	var err error
	if in.Duration != "" {
		if s.duration, err = parseDuration(in.Duration); err != nil {
			return nil, fmt.Errorf("duration: %w", err)
		}
	}
	if in.MaxInterval != "" {
		if s.maxInterval, err = parseDuration(in.MaxInterval); err != nil {
			return nil, fmt.Errorf("maxInterval: %w", err)
		}
	}
	if in.MaxRetries != nil {
		s.maxRetries = int64(*in.MaxRetries)
	}
	if m := in.Matching; m != nil {
		if s.httpCodes, err = parseCodes(m.HTTPStatusCodes, 100, 599); err != nil {
			return nil, err
		}
		if s.grpcCodes, err = parseCodes(m.GRPCStatusCodes, 0, 16); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkNames warns once about targets naming a policy no document defines
// (daprd silently applies nothing for them).
func (r *Resiliency) checkNames() {
	check := func(where string, n names) {
		if _, ok := r.timeouts[n.timeout]; n.timeout != "" && !ok {
			r.log.Warn("resiliency: " + where + " names an undefined timeout " + n.timeout)
		}
		if _, ok := r.retries[n.retry]; n.retry != "" && !ok {
			r.log.Warn("resiliency: " + where + " names an undefined retry " + n.retry)
		}
		if _, ok := r.breakers[n.breaker]; n.breaker != "" && !ok {
			r.log.Warn("resiliency: " + where + " names an undefined circuit breaker " + n.breaker)
		}
	}
	for _, app := range sortedKeys(r.apps) {
		check("app "+app, r.apps[app].names)
	}
	for _, c := range sortedKeys(r.components) {
		check("component "+c+" inbound", r.components[c][0])
		check("component "+c+" outbound", r.components[c][1])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

// defaultNames finds the Default…Policy of each kind for the levels, most
// specific first, then the bare Default%sPolicy.
func (r *Resiliency) defaultNames(levels ...string) names {
	var n names
	for _, l := range append(levels, "") {
		if _, ok := r.retries["Default"+l+"RetryPolicy"]; ok && n.retry == "" {
			n.retry = "Default" + l + "RetryPolicy"
		}
		if _, ok := r.timeouts["Default"+l+"TimeoutPolicy"]; ok && n.timeout == "" {
			n.timeout = "Default" + l + "TimeoutPolicy"
		}
		if _, ok := r.breakers["Default"+l+"CircuitBreakerPolicy"]; ok && n.breaker == "" {
			n.breaker = "Default" + l + "CircuitBreakerPolicy"
		}
	}
	return n
}

// ComponentOutbound returns the policy for calls to the component (state,
// publish, output bindings…), or nil when none applies.
func (r *Resiliency) ComponentOutbound(name string, kind ComponentKind) *Policy {
	return r.component(name, kind, 1, "Outbound")
}

// ComponentInbound returns the policy for deliveries from the component to
// the app (pub/sub, input bindings), or nil when none applies.
func (r *Resiliency) ComponentInbound(name string, kind ComponentKind) *Policy {
	return r.component(name, kind, 0, "Inbound")
}

func (r *Resiliency) component(name string, kind ComponentKind, dir int, direction string) *Policy {
	if r == nil {
		return nil
	}
	var n names
	if c, ok := r.components[name]; ok {
		// A named target takes no defaults, even for the kinds it leaves out.
		n = c[dir]
	} else {
		n = r.defaultNames(string(kind)+"Component"+direction, "Component"+direction, "Component")
	}
	// daprd's metric target for a component: "<Kind>_<name>".
	p := r.policy(n, string(kind)+"_"+name, strings.ToLower(direction))
	if p == nil {
		return nil
	}
	if spec := r.breakers[n.breaker]; spec != nil {
		r.mu.Lock()
		b := r.compCBs[name]
		if b == nil {
			b = r.newBreaker(spec, spec.name+"-"+name, p.target, p.flow)
			r.compCBs[name] = b
		}
		r.mu.Unlock()
		p.breaker = b
	}
	return p
}

// policy resolves the names into a Policy (breaker left to the caller); nil
// when nothing applies.
func (r *Resiliency) policy(n names, target, flow string) *Policy {
	p := &Policy{r: r, target: target, flow: flow}
	if d, ok := r.timeouts[n.timeout]; ok && d > 0 {
		p.timeout = TimeoutSpec{Name: n.timeout, D: d}
	}
	p.retry = r.retries[n.retry]
	if p.timeout.D == 0 && p.retry == nil && r.breakers[n.breaker] == nil {
		return nil
	}
	return p
}

func (r *Resiliency) newBreaker(spec *breakerSpec, name, target, flow string) *Breaker {
	return newBreaker(spec, name, r.clock, func(b *Breaker, from, to BreakerState) {
		r.log.Info(fmt.Sprintf("Circuit breaker %q changed state from %s to %s", b.name, from, to))
		r.activated(&Policy{r: r, target: target, flow: flow}, "circuitbreaker", to.String())
	})
}

// AppPolicy is the policy for service invocation of one app: resolve it
// once per target, then For(method) per call (only a breaker needs that:
// daprd keeps one per endpoint).
type AppPolicy struct {
	base *Policy
	app  string
	spec *breakerSpec
	cbs  *endpointBreakers
	r    *Resiliency
}

// App returns the policy for calls to app, or nil when none applies.
func (r *Resiliency) App(app string) *AppPolicy {
	if r == nil {
		return nil
	}
	t, ok := r.apps[app]
	if !ok {
		t.names = r.defaultNames("App")
	}
	p := r.policy(t.names, "app_"+app, "outbound")
	if p == nil {
		return nil
	}
	ap := &AppPolicy{base: p, app: app, r: r, spec: r.breakers[t.breaker]}
	if ap.spec != nil {
		size := t.cacheSize
		if size <= 0 {
			size = 100
		}
		r.mu.Lock()
		ap.cbs = r.endpoints[app]
		if ap.cbs == nil {
			ap.cbs = &endpointBreakers{size: size, byKey: map[string]*Breaker{}}
			r.endpoints[app] = ap.cbs
		}
		r.mu.Unlock()
	}
	return ap
}

// HasRetries reports whether a call may be sent more than once.
func (ap *AppPolicy) HasRetries() bool { return ap != nil && ap.base.retry != nil }

// For returns the policy of a call to method (daprd's endpoint
// "app:method"). Safe for concurrent use.
func (ap *AppPolicy) For(method string) *Policy {
	if ap == nil {
		return nil
	}
	if ap.spec == nil {
		return ap.base
	}
	key := ap.app + ":" + method
	r := ap.r
	r.mu.Lock()
	c := ap.cbs
	b := c.byKey[key]
	if b == nil {
		if len(c.order) >= c.size {
			delete(c.byKey, c.order[0])
			c.order = c.order[1:]
		}
		b = r.newBreaker(ap.spec, key, ap.base.target, ap.base.flow)
		c.byKey[key] = b
		c.order = append(c.order, key)
	}
	r.mu.Unlock()
	p := *ap.base
	p.breaker = b
	return &p
}

// BuiltIn returns a built-in retry policy (see the BuiltIn… names) as
// overridden by the documents. skiff has no sidecar-to-sidecar calls or
// actors yet, so nothing uses them; they are kept for those.
func (r *Resiliency) BuiltIn(name string) *Policy {
	if r == nil || r.retries[name] == nil {
		return nil
	}
	return &Policy{r: r, target: name, retry: r.retries[name]}
}

func (r *Resiliency) executed(p *Policy) {
	if r.obs == nil {
		return
	}
	if p.timeout.D > 0 {
		r.obs.Executed(r.name, r.namespace, "timeout", p.flow, p.target, "")
	}
	if p.retry != nil {
		r.obs.Executed(r.name, r.namespace, "retry", p.flow, p.target, "")
	}
	if p.breaker != nil {
		r.obs.Executed(r.name, r.namespace, "circuitbreaker", p.flow, p.target, p.breaker.State().String())
	}
}

func (r *Resiliency) activated(p *Policy, policy, status string) {
	if r.obs != nil {
		r.obs.Activated(r.name, r.namespace, policy, p.flow, p.target, status)
	}
}
