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
	egressBulk, ingressBulk                               *family
	// ingressBulkEvents is daprd's per-status companion of ingressBulk
	// (a count of records, see bulkIngress).
	ingressBulkEvents *prometheus.CounterVec
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
	return &handle{count: f.count.WithLabelValues(c...), f: f, latVals: l}
}

// series is one label set of a family but for its outcome: for the
// success-labelled families index 1 is success (success="true"), index 0
// failure; the ingress family has one index per pubsub.IngressStatus. The
// handles are resolved the first time an outcome happens, so that, as in
// daprd, only series that happened are exported.
type series struct {
	f    *family
	vals [][]string // label values per outcome, in the family's label order
	h    []atomic.Pointer[handle]
}

// handle is a series' resolved count and, resolved on its first
// observation (daprd exports no latency series for outcomes recorded
// without one), its latency.
type handle struct {
	count   prometheus.Counter
	f       *family
	latVals []string
	lat     atomic.Pointer[prometheus.Observer]
}

func (h *handle) observe(el time.Duration) {
	o := h.lat.Load()
	if o == nil {
		v := h.f.lat.WithLabelValues(h.latVals...)
		o = &v
		h.lat.Store(o)
	}
	(*o).Observe(float64(el) / float64(time.Millisecond))
}

func newSeries(f *family, vals ...[]string) *series {
	return &series{f: f, vals: vals, h: make([]atomic.Pointer[handle], len(vals))}
}

// observe records a call that started at start.
func (s *series) observe(start time.Time, ok bool) {
	i := 0
	if ok {
		i = 1
	}
	s.record(i, time.Since(start))
}

// record counts outcome i and, as daprd, records its latency only when
// some time was measured.
func (s *series) record(i int, el time.Duration) {
	h := s.h[i].Load()
	if h == nil {
		h = s.f.resolve(s.vals[i])
		s.h[i].Store(h)
	}
	h.count.Inc()
	if el > 0 {
		h.observe(el)
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
			"The latency of the response from the pub/sub component.", "app_id", "component", "namespace", "success", "topic"),
		ingress: fam("pubsub_ingress", "The number of incoming messages arriving from the pub/sub component.",
			"The consuming app event processing latency.", "app_id", "component", "namespace", "process_status", "status", "topic"),
		egressBulk: fam("pubsub_egress_bulk", "The number of bulk publish calls to the pub/sub component.",
			"The latency of the response for the bulk publish call from the pub/sub component.", "app_id", "component", "namespace", "success", "topic"),
		ingressBulk: fam("pubsub_ingress_bulk", "The number of incoming bulk subscribe calls arriving from the bulk pub/sub component.",
			"The consuming app event processing latency for the bulk pub/sub component.", "app_id", "component", "namespace", "process_status", "topic"),
		ingressBulkEvents: m.CounterVec("dapr_component_pubsub_ingress_bulk_event_count",
			"Total number of incoming messages arriving from the bulk pub/sub component via Bulk Subscribe.",
			"app_id", "component", "namespace", "process_status", "topic"),
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

// wrapPubsubs records publishing (egress, single and bulk) of each pub/sub
// component; the block reports deliveries to the app (ingress) to the same
// decorator, as a pubsub.IngressObserver.
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
	m.bp, _ = ps.(pubsub.BulkPublisher)
	m.ap, _ = ps.(pubsub.AsyncPublisher)
	bs, hasBS := ps.(pubsub.BulkSubscriber)
	_, hasWin := ps.(pubsub.WindowedSubscriber)
	// The block finds the optional behaviours by type assertion: the
	// decorator has exactly the subscription ones the component has.
	// BulkPublish it always has, so that every bulk publish goes through
	// one call, recorded as daprd records its adapter's.
	s, w := bsMixin{bs}, winMixin{ps}
	switch {
	case hasBS && hasWin:
		return &struct {
			*metricPubsub
			bsMixin
			winMixin
		}{m, s, w}
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

// metricPubsub records Publish and BulkPublish per topic, and the
// deliveries the block reports. Topics are resolved to label handles once
// and cached.
type metricPubsub struct {
	pubsub.PubSub
	cm         *componentMetrics
	name       string
	bp         pubsub.BulkPublisher  // nil: one Publish per entry
	ap         pubsub.AsyncPublisher // nil: Publish only
	egress     sync.Map              // topic → *series (success label)
	egressBulk sync.Map              // topic → *series (success label)
	ingress    sync.Map              // topic → *series (pubsub.IngressStatus)
	bulk       sync.Map              // topic → *bulkSeries
}

// cached returns m's value for topic, made by mk the first time.
func cached[T any](m *sync.Map, topic string, mk func() T) T {
	if v, ok := m.Load(topic); ok {
		return v.(T)
	}
	v, _ := m.LoadOrStore(topic, mk())
	return v.(T)
}

func (p *metricPubsub) successSeries(m *sync.Map, f *family, topic string) *series {
	return cached(m, topic, func() *series {
		cm := p.cm
		return newSeries(f,
			[]string{cm.appID, p.name, cm.namespace, "false", topic},
			[]string{cm.appID, p.name, cm.namespace, "true", topic})
	})
}

// ingressLabels are daprd's process_status and status per
// pubsub.IngressStatus (status repeats process_status unless the outcome
// was the app's or the router's own DROP decision).
var ingressLabels = [...][2]string{
	pubsub.IngressSuccess:     {"success", "success"},
	pubsub.IngressRetry:       {"retry", "retry"},
	pubsub.IngressDrop:        {"drop", "drop"},
	pubsub.IngressDropSuccess: {"drop", "success"},
}

func (p *metricPubsub) ingressFor(topic string) *series {
	return cached(&p.ingress, topic, func() *series {
		cm := p.cm
		vals := make([][]string, len(ingressLabels))
		for i, l := range ingressLabels {
			vals[i] = []string{cm.appID, p.name, cm.namespace, l[0], l[1], topic}
		}
		return newSeries(cm.ingress, vals...)
	})
}

// Ingress records one delivery (pubsub.IngressObserver).
func (p *metricPubsub) Ingress(topic string, st pubsub.IngressStatus, el time.Duration) {
	if int(st) < len(ingressLabels) {
		p.ingressFor(topic).record(int(st), el)
	}
}

// bulkSeries is one topic's bulk delivery metrics. daprd labels them with
// component="pubsubName" (it passes its metadata key's name, not the
// component's) and leaves process_status empty on the call count and
// latency; kept as daprd exports them so that dashboards match.
type bulkSeries struct {
	calls  *series
	events [3]atomic.Pointer[prometheus.Counter] // SUCCESS, DROP, RETRY
	vals   [3][]string
}

const daprBulkComponent = "pubsubName"

var bulkEventStatus = [3]string{"SUCCESS", "DROP", "RETRY"}

func (p *metricPubsub) bulkFor(topic string) *bulkSeries {
	return cached(&p.bulk, topic, func() *bulkSeries {
		cm := p.cm
		b := &bulkSeries{calls: newSeries(cm.ingressBulk, []string{cm.appID, daprBulkComponent, cm.namespace, "", topic})}
		for i, st := range bulkEventStatus {
			b.vals[i] = []string{cm.appID, daprBulkComponent, cm.namespace, st, topic}
		}
		return b
	})
}

// BulkIngress records one batch (pubsub.IngressObserver): the call, and
// for each outcome that happened one record in
// dapr_component_pubsub_ingress_bulk_event_count, whose daprd view counts
// records, not messages.
func (p *metricPubsub) BulkIngress(topic string, success, drop, retry int, el time.Duration) {
	b := p.bulkFor(topic)
	b.calls.record(0, el)
	for i, n := range [3]int{success, drop, retry} {
		if n <= 0 {
			continue
		}
		c := b.events[i].Load()
		if c == nil {
			v := p.cm.counter(p.cm.ingressBulkEvents, "dapr_component_pubsub_ingress_bulk_event_count",
				[]string{"app_id", "component", "namespace", "process_status", "topic"}, slices.Clone(b.vals[i])...)
			c = &v
			b.events[i].Store(c)
		}
		(*c).Inc()
	}
}

// Publish records an API publish; dead-letter publishes are not counted,
// as in daprd (which records egress in its API handlers only).
func (p *metricPubsub) Publish(ctx context.Context, req *pubsub.PublishRequest) error {
	if req.DeadLetter {
		return p.PubSub.Publish(ctx, req)
	}
	start := time.Now()
	err := p.PubSub.Publish(ctx, req)
	p.successSeries(&p.egress, p.cm.egress, req.Topic).observe(start, err == nil)
	return err
}

// BulkPublish is one bulk publish call, successful when no entry failed
// (daprd's dapr_component_pubsub_egress_bulk_*). Without a native bulk
// publisher the entries are published one by one, and, as daprd's default
// bulk publisher, not counted again as single publishes.
func (p *metricPubsub) BulkPublish(ctx context.Context, req *pubsub.BulkPublishRequest) []pubsub.BulkFailure {
	start := time.Now()
	var failed []pubsub.BulkFailure
	if p.bp != nil {
		failed = p.bp.BulkPublish(ctx, req)
	} else {
		for i := range req.Entries {
			e := &req.Entries[i]
			if err := p.PubSub.Publish(ctx, &pubsub.PublishRequest{Topic: req.Topic, Data: e.Event, ContentType: e.ContentType, Metadata: e.Metadata}); err != nil {
				failed = append(failed, pubsub.BulkFailure{EntryID: e.EntryID, Err: err})
			}
		}
	}
	p.successSeries(&p.egressBulk, p.cm.egressBulk, req.Topic).observe(start, len(failed) == 0)
	return failed
}

// InlineSafe keeps an in-memory component's publishing on the event loop.
func (p *metricPubsub) InlineSafe() bool {
	ip, ok := p.PubSub.(pubsub.InlinePublisher)
	return ok && ip.InlineSafe()
}

// AsyncPublishes is the component's (false when it has no AsyncPublisher).
func (p *metricPubsub) AsyncPublishes() bool { return p.ap != nil && p.ap.AsyncPublishes() }

// PublishAsync records the publish when the component completes it; the
// record is pooled with its completion bound once, so that metrics add no
// allocation per publish.
func (p *metricPubsub) PublishAsync(req *pubsub.PublishRequest, done func(error)) {
	ap := p.ap
	if req.DeadLetter {
		ap.PublishAsync(req, done)
		return
	}
	r := newAsyncRecord()
	r.s, r.start, r.done = p.successSeries(&p.egress, p.cm.egress, req.Topic), time.Now(), done
	ap.PublishAsync(req, r.fn)
}

type asyncRecord struct {
	s     *series
	start time.Time
	done  func(error)
	fn    func(error) // r.complete
}

// asyncRecordPool has no New: the bound method would refer back to the pool.
var asyncRecordPool sync.Pool

func newAsyncRecord() *asyncRecord {
	if r, ok := asyncRecordPool.Get().(*asyncRecord); ok {
		return r
	}
	r := &asyncRecord{}
	r.fn = r.complete
	return r
}

func (r *asyncRecord) complete(err error) {
	s, start, done := r.s, r.start, r.done
	r.s, r.done = nil, nil
	asyncRecordPool.Put(r)
	s.observe(start, err == nil)
	done(err)
}

// SubscriptionsReady passes the notice on to components that want it.
func (p *metricPubsub) SubscriptionsReady() {
	if r, ok := p.PubSub.(pubsub.ReadyNotifier); ok {
		r.SubscriptionsReady()
	}
}

// bsMixin passes bulk subscriptions through (the block reports them).
type bsMixin struct{ bs pubsub.BulkSubscriber }

func (b bsMixin) BulkSubscribe(ctx context.Context, req pubsub.SubscribeRequest, maxCount int, maxAwait time.Duration, h pubsub.BulkHandler) error {
	return b.bs.BulkSubscribe(ctx, req, maxCount, maxAwait, h)
}

// winMixin passes pipelined subscriptions through (the block reports them).
type winMixin struct{ ps pubsub.PubSub }

func (w winMixin) SubscribeWindowed(ctx context.Context, req pubsub.SubscribeRequest, window int, h pubsub.AsyncHandler) error {
	return w.ps.(pubsub.WindowedSubscriber).SubscribeWindowed(ctx, req, window, h)
}

// AnswerTimeout passes the component's answer timeout through (0: none).
func (w winMixin) AnswerTimeout(req pubsub.SubscribeRequest) time.Duration {
	if at, ok := w.ps.(pubsub.AnswerTimeouter); ok {
		return at.AnswerTimeout(req)
	}
	return 0
}

// Lanes passes the component's lane count through (1 when it has none).
func (w winMixin) Lanes(req pubsub.SubscribeRequest) int {
	if lc, ok := w.ps.(pubsub.LaneCounter); ok {
		return lc.Lanes(req)
	}
	return 1
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
