package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/blocks/configuration"
	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/secrets"
	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/dataplane/metrics"
)

// componentMetrics records daprd 1.18's component metrics
// (pkg/diagnostics/component_monitoring.go and the component part of
// service_monitoring.go): counts and latencies (milliseconds, with the
// configured latency buckets) of every call skiffd makes to a state store,
// pub/sub, binding, secret store or configuration store, and the
// dapr_runtime_component_* start-up counters.
//
// The components are wrapped in decorators (wrap* below) when the blocks
// are built, outside the resiliency wrappers so that, as in daprd, a call's
// latency includes its retries and a delivery to the app is counted once
// per attempt. A nil *componentMetrics (metrics off) wraps nothing: the
// blocks then see the components themselves, fast paths and all.
//
// Label handles are resolved once, the first time a component, operation,
// topic and outcome occur, and kept (see series), so recording a call costs
// two clock reads, a counter increment and a histogram observation, and no
// allocation.
type componentMetrics struct {
	appID, namespace string

	loaded   *prometheus.CounterVec
	initOK   *prometheus.CounterVec
	initFail *prometheus.CounterVec

	m                                                     *metrics.Metrics
	state, config, secret, output, input, egress, ingress *family
}

// family is a count and a latency metric sharing their labels.
type family struct {
	m                  *metrics.Metrics
	countName, latName string
	labels             []string
	count              *prometheus.CounterVec
	lat                *prometheus.HistogramVec
}

// resolve returns the handles of the label values lv, rewritten by the
// Configuration's metric rules (per metric name, as daprd).
func (f *family) resolve(lv []string) *handle {
	c, l := slices.Clone(lv), slices.Clone(lv)
	f.m.Relabel(f.countName, f.labels, c)
	f.m.Relabel(f.latName, f.labels, l)
	return &handle{count: f.count.WithLabelValues(c...), lat: f.lat.WithLabelValues(l...)}
}

// series is one label set of a family but for its outcome: index 1 is
// success (success="true", or process_status "success"), index 0 failure.
// The handles are resolved the first time an outcome happens, so that, as
// in daprd, only series that happened are exported.
type series struct {
	f    *family
	vals [2][]string // label values, in the family's label order
	h    [2]atomic.Pointer[handle]
}

type handle struct {
	count prometheus.Counter
	lat   prometheus.Observer
}

func newSeries(f *family, fail, ok []string) *series {
	return &series{f: f, vals: [2][]string{fail, ok}}
}

// observe records a call that started at start.
func (s *series) observe(start time.Time, ok bool) {
	i := 0
	if ok {
		i = 1
	}
	h := s.h[i].Load()
	if h == nil {
		h = s.f.resolve(s.vals[i])
		s.h[i].Store(h)
	}
	h.count.Inc()
	// daprd records the latency only when some time was measured.
	if el := time.Since(start); el > 0 {
		h.lat.Observe(float64(el) / float64(time.Millisecond))
	}
}

// Label values of daprd's operation label (diagnostics constants).
const (
	opGet         = "get"
	opSet         = "set"
	opDelete      = "delete"
	opBulkGet     = "bulk_get"
	opTransaction = "transaction"
	opQuery       = "query"
	opSubscribe   = "subscribe"
	opUnsubscribe = "unsubscribe"
)

// newComponentMetrics registers the families; nil when metrics are off.
func newComponentMetrics(appID, namespace string, m *metrics.Metrics) *componentMetrics {
	if !m.Enabled() {
		return nil
	}
	b := m.LatencyBuckets()
	fam := func(name, countHelp, latHelp string, labels ...string) *family {
		f := &family{m: m, countName: "dapr_component_" + name + "_count", latName: "dapr_component_" + name + "_latencies", labels: labels}
		f.count = m.CounterVec(f.countName, countHelp, labels...)
		f.lat = m.HistogramVec(f.latName, latHelp, b, labels...)
		return f
	}
	opLabels := []string{"app_id", "component", "namespace", "operation", "success"}
	return &componentMetrics{
		m:         m,
		appID:     appID,
		namespace: namespace,
		loaded:    m.CounterVec("dapr_runtime_component_loaded", "The number of successfully loaded components.", "app_id"),
		initOK:    m.CounterVec("dapr_runtime_component_init_total", "The number of initialized components.", "app_id", "component"),
		initFail: m.CounterVec("dapr_runtime_component_init_fail_total", "The number of component initialization failures.",
			"app_id", "component", "reason", "componentName"),
		state: fam("state", "The number of operations performed on the state component.",
			"The latency of the response from the state component.", opLabels...),
		config: fam("configuration", "The number of operations performed on the configuration component.",
			"The latency of the response from the configuration component.", opLabels...),
		secret: fam("secret", "The number of operations performed on the secret component.",
			"The latency of the response from the secret component.", opLabels...),
		output: fam("output_binding", "The number of operations invoked on the output binding component.",
			"The latency of the response from the output binding component.", opLabels...),
		input: fam("input_binding", "The number of incoming events arriving from the input binding component.",
			"The triggered app event processing latency.", "app_id", "component", "namespace", "success"),
		egress: fam("pubsub_egress", "The number of outgoing messages published to the pub/sub component.",
			"The latency of the response from the pub/sub component.", "app_id", "component", "namespace", "topic", "success"),
		ingress: fam("pubsub_ingress", "The number of incoming messages arriving from the pub/sub component.",
			"The consuming app event processing latency.", "app_id", "component", "namespace", "process_status", "status", "topic"),
	}
}

// initialized records a component that started (daprd labels the init
// counter with the component's type).
func (cm *componentMetrics) initialized(typ string) {
	if cm == nil {
		return
	}
	cm.counter(cm.initOK, "dapr_runtime_component_init_total", []string{"app_id", "component"}, cm.appID, typ).Inc()
	cm.counter(cm.loaded, "dapr_runtime_component_loaded", []string{"app_id"}, cm.appID).Inc()
}

// initFailed records a component that did not start; reason is daprd's
// "creation" (unknown type) or "init".
func (cm *componentMetrics) initFailed(typ, reason, name string) {
	if cm == nil {
		return
	}
	cm.counter(cm.initFail, "dapr_runtime_component_init_fail_total", []string{"app_id", "component", "reason", "componentName"},
		cm.appID, typ, reason, name).Inc()
}

// counter resolves a start-up counter's label set, through the metric rules.
func (cm *componentMetrics) counter(v *prometheus.CounterVec, name string, names []string, lv ...string) prometheus.Counter {
	cm.m.Relabel(name, names, lv)
	return v.WithLabelValues(lv...)
}

// opSeries resolves f's series for a component and operation: labels
// app_id, component, namespace, operation, success.
func (cm *componentMetrics) opSeries(f *family, component, op string) *series {
	return newSeries(f,
		[]string{cm.appID, component, cm.namespace, op, "false"},
		[]string{cm.appID, component, cm.namespace, op, "true"})
}

// ---- state ----

// stateOps are the operations a state store is called with.
var stateOps = [...]string{opGet, opSet, opDelete, opBulkGet, opTransaction, opQuery}

const (
	stGet = iota
	stSet
	stDelete
	stBulkGet
	stTransaction
	stQuery
)

// wrapStates puts each state store behind a metrics decorator that keeps
// the store's fast paths (inline reads into the caller's buffer, batched
// asynchronous reads).
func (cm *componentMetrics) wrapStates(entries []state.StoreEntry) []state.StoreEntry {
	if cm == nil {
		return entries
	}
	out := append([]state.StoreEntry(nil), entries...)
	for i := range out {
		out[i].Store = cm.wrapState(out[i].Name, out[i].Store)
	}
	return out
}

func (cm *componentMetrics) wrapState(name string, st state.Store) state.Store {
	m := &metricStore{Store: st}
	for i, op := range stateOps {
		m.ops[i] = cm.opSeries(cm.state, name, op)
	}
	if is, ok := st.(state.InlineStore); ok && is.InlineSafe() {
		if fg, ok := st.(state.FastGetter); ok {
			return &metricFastStore{metricStore: m, fast: fg}
		}
		return &metricInlineStore{m}
	}
	if ag, ok := st.(state.AsyncGetter); ok {
		return &metricAsyncStore{metricStore: m, async: ag}
	}
	return m
}

// metricStore records each call of a state store. Transactional and
// Querier are passed through: the block only calls them when the store's
// features say it has them.
type metricStore struct {
	state.Store
	ops [len(stateOps)]*series
}

func (s *metricStore) Get(ctx context.Context, req *state.GetRequest) (state.GetResponse, error) {
	start := time.Now()
	r, err := s.Store.Get(ctx, req)
	s.ops[stGet].observe(start, err == nil)
	return r, err
}

// Set and BulkSet are both daprd's "set": one per save request.
func (s *metricStore) Set(ctx context.Context, req *state.SetRequest) error {
	start := time.Now()
	err := s.Store.Set(ctx, req)
	s.ops[stSet].observe(start, err == nil)
	return err
}

func (s *metricStore) BulkSet(ctx context.Context, reqs []state.SetRequest) error {
	start := time.Now()
	err := s.Store.BulkSet(ctx, reqs)
	s.ops[stSet].observe(start, err == nil)
	return err
}

func (s *metricStore) Delete(ctx context.Context, req *state.DeleteRequest) error {
	start := time.Now()
	err := s.Store.Delete(ctx, req)
	s.ops[stDelete].observe(start, err == nil)
	return err
}

func (s *metricStore) BulkGet(ctx context.Context, reqs []state.GetRequest, parallelism int) ([]state.BulkGetItem, error) {
	start := time.Now()
	r, err := s.Store.BulkGet(ctx, reqs, parallelism)
	s.ops[stBulkGet].observe(start, err == nil)
	return r, err
}

func (s *metricStore) Multi(ctx context.Context, req *state.TransactionRequest) error {
	tx, ok := s.Store.(state.Transactional)
	if !ok {
		return errNotSupported
	}
	start := time.Now()
	err := tx.Multi(ctx, req)
	s.ops[stTransaction].observe(start, err == nil)
	return err
}

func (s *metricStore) Query(ctx context.Context, req *state.QueryRequest) (*state.QueryResponse, error) {
	q, ok := s.Store.(state.Querier)
	if !ok {
		return nil, errNotSupported
	}
	start := time.Now()
	r, err := q.Query(ctx, req)
	s.ops[stQuery].observe(start, err == nil)
	return r, err
}

// metricInlineStore keeps an in-memory store on the event loop.
type metricInlineStore struct{ *metricStore }

func (s *metricInlineStore) InlineSafe() bool { return true }

// metricFastStore also keeps the allocation-free read path.
type metricFastStore struct {
	*metricStore
	fast state.FastGetter
}

func (s *metricFastStore) InlineSafe() bool { return true }

// AppendGet is a "get" that cannot fail.
func (s *metricFastStore) AppendGet(dst []byte, key []byte) ([]byte, state.ItemInfo, bool) {
	start := time.Now()
	out, info, found := s.fast.AppendGet(dst, key)
	s.ops[stGet].observe(start, true)
	return out, info, found
}

// metricAsyncStore keeps the batched reads of backend stores (Redis,
// PostgreSQL).
type metricAsyncStore struct {
	*metricStore
	async state.AsyncGetter
}

func (s *metricAsyncStore) AsyncGets() bool { return s.async.AsyncGets() }

// GetAsync times the read with a pooled completion whose callback was bound
// once, so that the read path gains no allocation.
func (s *metricAsyncStore) GetAsync(key string, done func(state.GetResponse, error)) {
	c := newAsyncGet()
	c.series, c.done, c.start = s.ops[stGet], done, time.Now()
	s.async.GetAsync(key, c.fn)
}

type asyncGet struct {
	series *series
	done   func(state.GetResponse, error)
	start  time.Time
	fn     func(state.GetResponse, error) // c.complete, bound once
}

// asyncGetPool has no New: the method value it would bind refers back
// to the pool (an initialisation cycle); newAsyncGet does that instead.
var asyncGetPool sync.Pool

func newAsyncGet() *asyncGet {
	if c, ok := asyncGetPool.Get().(*asyncGet); ok {
		return c
	}
	c := &asyncGet{}
	c.fn = c.complete
	return c
}

func (c *asyncGet) complete(r state.GetResponse, err error) {
	s, done, start := c.series, c.done, c.start
	c.series, c.done = nil, nil
	asyncGetPool.Put(c)
	s.observe(start, err == nil)
	done(r, err)
}

// ---- pub/sub ----

// wrapPubsubs records publishing (egress) and deliveries to the app
// (ingress) of each pub/sub component.
func (cm *componentMetrics) wrapPubsubs(entries []pubsub.Entry) []pubsub.Entry {
	if cm == nil {
		return entries
	}
	out := append([]pubsub.Entry(nil), entries...)
	for i := range out {
		out[i].Component = cm.wrapPubsub(out[i].Name, out[i].Component)
	}
	return out
}

func (cm *componentMetrics) wrapPubsub(name string, ps pubsub.PubSub) pubsub.PubSub {
	m := &metricPubsub{PubSub: ps, cm: cm, name: name}
	bp, hasBP := ps.(pubsub.BulkPublisher)
	bs, hasBS := ps.(pubsub.BulkSubscriber)
	_, hasWin := ps.(pubsub.WindowedSubscriber)
	// The block finds the optional behaviours by type assertion: the
	// decorator has exactly the ones the component has.
	b, s, w := bpMixin{bp}, bsMixin{bs}, winMixin{m}
	switch {
	case hasBP && hasBS && hasWin:
		return &struct {
			*metricPubsub
			bpMixin
			bsMixin
			winMixin
		}{m, b, s, w}
	case hasBP && hasBS:
		return &struct {
			*metricPubsub
			bpMixin
			bsMixin
		}{m, b, s}
	case hasBP && hasWin:
		return &struct {
			*metricPubsub
			bpMixin
			winMixin
		}{m, b, w}
	case hasBS && hasWin:
		return &struct {
			*metricPubsub
			bsMixin
			winMixin
		}{m, s, w}
	case hasBP:
		return &struct {
			*metricPubsub
			bpMixin
		}{m, b}
	case hasBS:
		return &struct {
			*metricPubsub
			bsMixin
		}{m, s}
	case hasWin:
		return &struct {
			*metricPubsub
			winMixin
		}{m, w}
	}
	return m
}

// metricPubsub records Publish per topic and wraps the delivery handlers.
// Topics are resolved to label handles once and cached.
type metricPubsub struct {
	pubsub.PubSub
	cm      *componentMetrics
	name    string
	egress  sync.Map // topic → *series (success label)
	ingress sync.Map // topic → *series (process_status)
}

func (p *metricPubsub) egressFor(topic string) *series {
	if v, ok := p.egress.Load(topic); ok {
		return v.(*series)
	}
	cm := p.cm
	s := newSeries(cm.egress,
		[]string{cm.appID, p.name, cm.namespace, topic, "false"},
		[]string{cm.appID, p.name, cm.namespace, topic, "true"})
	v, _ := p.egress.LoadOrStore(topic, s)
	return v.(*series)
}

// ingressFor: process_status "success" or "retry". daprd's status label
// repeats process_status unless the app itself chose the outcome (DROP:
// process_status "drop", status "success"). The component's handler only
// answers "acknowledged" or "redeliver", so a message the app dropped
// (DROP, 404) counts as success here.
func (p *metricPubsub) ingressFor(topic string) *series {
	if v, ok := p.ingress.Load(topic); ok {
		return v.(*series)
	}
	cm := p.cm
	s := newSeries(cm.ingress,
		[]string{cm.appID, p.name, cm.namespace, "retry", "retry", topic},
		[]string{cm.appID, p.name, cm.namespace, "success", "success", topic})
	v, _ := p.ingress.LoadOrStore(topic, s)
	return v.(*series)
}

func (p *metricPubsub) Publish(ctx context.Context, req *pubsub.PublishRequest) error {
	start := time.Now()
	err := p.PubSub.Publish(ctx, req)
	p.egressFor(req.Topic).observe(start, err == nil)
	return err
}

func (p *metricPubsub) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, h pubsub.Handler) error {
	sub := p.ingressFor(req.Topic)
	return p.PubSub.Subscribe(ctx, req, func(ctx context.Context, msg *pubsub.Message) error {
		start := time.Now()
		err := h(ctx, msg)
		s := sub
		if msg.Topic != req.Topic { // a wildcard subscription
			s = p.ingressFor(msg.Topic)
		}
		s.observe(start, err == nil)
		return err
	})
}

// InlineSafe keeps an in-memory component's publishing on the event loop.
func (p *metricPubsub) InlineSafe() bool {
	ip, ok := p.PubSub.(pubsub.InlinePublisher)
	return ok && ip.InlineSafe()
}

// SubscriptionsReady passes the notice on to components that want it.
func (p *metricPubsub) SubscriptionsReady() {
	if r, ok := p.PubSub.(pubsub.ReadyNotifier); ok {
		r.SubscriptionsReady()
	}
}

// bpMixin passes bulk publishing through (daprd counts it in its bulk
// metrics, which skiffd does not export yet).
type bpMixin struct{ bp pubsub.BulkPublisher }

func (b bpMixin) BulkPublish(ctx context.Context, req *pubsub.BulkPublishRequest) []pubsub.BulkFailure {
	return b.bp.BulkPublish(ctx, req)
}

// bsMixin passes bulk subscriptions through, for the same reason.
type bsMixin struct{ bs pubsub.BulkSubscriber }

func (b bsMixin) BulkSubscribe(ctx context.Context, req pubsub.SubscribeRequest, maxCount int, maxAwait time.Duration, h pubsub.BulkHandler) error {
	return b.bs.BulkSubscribe(ctx, req, maxCount, maxAwait, h)
}

// winMixin records pipelined deliveries with pooled completions (one
// closure per message would cost an allocation each).
type winMixin struct{ p *metricPubsub }

func (w winMixin) SubscribeWindowed(ctx context.Context, req pubsub.SubscribeRequest, window int, h pubsub.AsyncHandler) error {
	p := w.p
	sub := p.ingressFor(req.Topic)
	ws := p.PubSub.(pubsub.WindowedSubscriber)
	return ws.SubscribeWindowed(ctx, req, window, func(ctx context.Context, msg *pubsub.Message, done func(error)) {
		s := sub
		if msg.Topic != req.Topic {
			s = p.ingressFor(msg.Topic)
		}
		c := newAsyncDelivery()
		c.series, c.done, c.start = s, done, time.Now()
		h(ctx, msg, c.fn)
	})
}

type asyncDelivery struct {
	series *series
	done   func(error)
	start  time.Time
	fn     func(error) // c.complete, bound once
}

var asyncDeliveryPool sync.Pool // see asyncGetPool

func newAsyncDelivery() *asyncDelivery {
	if c, ok := asyncDeliveryPool.Get().(*asyncDelivery); ok {
		return c
	}
	c := &asyncDelivery{}
	c.fn = c.complete
	return c
}

func (c *asyncDelivery) complete(err error) {
	s, done, start := c.series, c.done, c.start
	c.series, c.done = nil, nil
	asyncDeliveryPool.Put(c)
	s.observe(start, err == nil)
	done(err)
}

// ---- bindings ----

// wrapOutputs records each output binding's invocations by operation.
func (cm *componentMetrics) wrapOutputs(entries []bindings.OutputEntry) []bindings.OutputEntry {
	if cm == nil {
		return entries
	}
	out := append([]bindings.OutputEntry(nil), entries...)
	for i := range out {
		o := &metricOutput{Output: out[i].Output, cm: cm, name: out[i].Name, ops: map[string]*series{}}
		for _, op := range o.Operations() {
			o.ops[op] = cm.opSeries(cm.output, o.name, op)
		}
		out[i].Output = o
	}
	return out
}

// metricOutput's ops map is filled at start-up and read-only afterwards;
// an operation not listed by the component (the block refuses those) is
// resolved per call.
type metricOutput struct {
	bindings.Output
	cm   *componentMetrics
	name string
	ops  map[string]*series
}

func (o *metricOutput) Invoke(ctx context.Context, req *bindings.InvokeRequest) (*bindings.InvokeResponse, error) {
	start := time.Now()
	resp, err := o.Output.Invoke(ctx, req)
	s := o.ops[req.Operation]
	if s == nil {
		s = o.cm.opSeries(o.cm.output, o.name, req.Operation)
	}
	s.observe(start, err == nil)
	return resp, err
}

// wrapInputs records each input binding event's delivery to the app.
func (cm *componentMetrics) wrapInputs(entries []bindings.InputEntry) []bindings.InputEntry {
	if cm == nil {
		return entries
	}
	out := append([]bindings.InputEntry(nil), entries...)
	for i := range out {
		n := out[i].Name
		s := newSeries(cm.input,
			[]string{cm.appID, n, cm.namespace, "false"},
			[]string{cm.appID, n, cm.namespace, "true"})
		out[i].Input = &metricInput{Input: out[i].Input, s: s}
	}
	return out
}

type metricInput struct {
	bindings.Input
	s *series
}

func (in *metricInput) Read(ctx context.Context, h bindings.Handler) error {
	return in.Input.Read(ctx, func(ctx context.Context, ev *bindings.ReadResponse) ([]byte, error) {
		start := time.Now()
		out, err := h(ctx, ev)
		in.s.observe(start, err == nil)
		return out, err
	})
}

// ---- secrets ----

// wrapSecretStores records the secrets API's reads. Secrets read while
// components start (secretKeyRef) go to the stores directly, as in daprd.
func (cm *componentMetrics) wrapSecretStores(entries []secrets.StoreEntry) []secrets.StoreEntry {
	if cm == nil {
		return entries
	}
	out := append([]secrets.StoreEntry(nil), entries...)
	for i := range out {
		out[i].Store = &metricSecretStore{
			Store: out[i].Store,
			get:   cm.opSeries(cm.secret, out[i].Name, opGet),
			bulk:  cm.opSeries(cm.secret, out[i].Name, opBulkGet),
		}
	}
	return out
}

type metricSecretStore struct {
	secrets.Store
	get, bulk *series
}

func (s *metricSecretStore) GetSecret(ctx context.Context, name string, md map[string]string) (map[string]string, error) {
	start := time.Now()
	r, err := s.Store.GetSecret(ctx, name, md)
	s.get.observe(start, err == nil)
	return r, err
}

func (s *metricSecretStore) BulkGetSecret(ctx context.Context, md map[string]string) (map[string]map[string]string, error) {
	start := time.Now()
	r, err := s.Store.BulkGetSecret(ctx, md)
	s.bulk.observe(start, err == nil)
	return r, err
}

// NonBlocking keeps in-memory stores on the event loop.
func (s *metricSecretStore) NonBlocking() bool {
	nb, ok := s.Store.(secrets.NonBlocking)
	return ok && nb.NonBlocking()
}

// ---- configuration ----

// wrapConfigurations records get, subscribe and unsubscribe.
func (cm *componentMetrics) wrapConfigurations(entries []configuration.StoreEntry) []configuration.StoreEntry {
	if cm == nil {
		return entries
	}
	out := append([]configuration.StoreEntry(nil), entries...)
	for i := range out {
		n := out[i].Name
		out[i].Store = &metricConfigStore{
			Store: out[i].Store,
			get:   cm.opSeries(cm.config, n, opGet),
			sub:   cm.opSeries(cm.config, n, opSubscribe),
			unsub: cm.opSeries(cm.config, n, opUnsubscribe),
		}
	}
	return out
}

type metricConfigStore struct {
	configuration.Store
	get, sub, unsub *series
}

func (s *metricConfigStore) Get(ctx context.Context, keys []string, md map[string]string) (map[string]*configuration.Item, error) {
	start := time.Now()
	r, err := s.Store.Get(ctx, keys, md)
	s.get.observe(start, err == nil)
	return r, err
}

func (s *metricConfigStore) Subscribe(ctx context.Context, keys []string, md map[string]string, h configuration.Handler) (string, error) {
	start := time.Now()
	id, err := s.Store.Subscribe(ctx, keys, md, h)
	s.sub.observe(start, err == nil)
	return id, err
}

func (s *metricConfigStore) Unsubscribe(ctx context.Context, id string) error {
	start := time.Now()
	err := s.Store.Unsubscribe(ctx, id)
	s.unsub.observe(start, err == nil)
	return err
}

// InlineSafe keeps in-memory stores on the event loop.
func (s *metricConfigStore) InlineSafe() bool {
	is, ok := s.Store.(configuration.InlineStore)
	return ok && is.InlineSafe()
}
