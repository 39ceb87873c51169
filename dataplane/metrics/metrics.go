package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options configure the metrics; they come from the command line and from
// Configuration spec.metric.
type Options struct {
	AppID string
	// Enabled: --enable-metrics and spec.metric.enabled. When false, New
	// returns a Metrics whose HTTP is nil and whose Handler serves nothing.
	Enabled bool
	// IncreasedCardinality: spec.metric.http.increasedCardinality.
	IncreasedCardinality bool
	// PathMatching: spec.metric.http.pathMatching.
	PathMatching []string
	// ExcludeVerbs: spec.metric.http.excludeVerbs.
	ExcludeVerbs bool
	// LatencyBuckets (milliseconds): spec.metric.latencyDistributionBuckets;
	// nil means daprd's default.
	LatencyBuckets []float64
	// Rules: spec.metric.rules, regex rewriting of label values, applied
	// when a label set is first seen (check them with ValidateRules; New
	// drops rules that do not compile).
	Rules []Rule
	// RecordErrorCodes: spec.metric.recordErrorCodes.
	RecordErrorCodes bool
}

// DefaultLatencyBuckets are daprd's latency histogram bounds, in milliseconds.
var DefaultLatencyBuckets = []float64{1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 65, 80, 100, 130, 160, 200, 250, 300, 400, 500, 650, 800, 1000, 2000, 5000, 10000, 20000, 50000, 100000}

// SizeBuckets are daprd's size histogram bounds, in bytes.
var SizeBuckets = []float64{1 << 10, 2 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20, 256 << 20, 1 << 30, 4 << 30}

// Metrics is the registry behind /metrics and the HTTP API server metrics.
type Metrics struct {
	enabled bool
	buckets []float64 // latency buckets (ms) of every latency histogram
	rules   rules
	reg     *prometheus.Registry
	// HTTP records the HTTP API server's requests; nil when disabled.
	HTTP *HTTPServer
	// AppChannel records the calls to the app and the app health probes;
	// nil when disabled.
	AppChannel *AppChannel
	// ErrorCodes counts API errors; nil when disabled or not asked for.
	ErrorCodes *ErrorCodes
	// ServiceInvocation records calls between sidecars; nil when disabled.
	ServiceInvocation *ServiceInvocation
}

// New builds the registry with the Go runtime and process collectors and,
// when enabled, daprd's HTTP server metrics.
func New(o Options) *Metrics {
	m := &Metrics{enabled: o.Enabled, buckets: o.LatencyBuckets, reg: prometheus.NewRegistry()}
	if len(m.buckets) == 0 {
		m.buckets = DefaultLatencyBuckets
	}
	if !o.Enabled {
		return m
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	rs, err := compileRules(o.Rules)
	if err != nil {
		rs = nil
	}
	m.rules = rs
	m.HTTP = newHTTPServer(m.reg, o, rs)
	m.AppChannel = newAppChannel(m.reg, o, rs)
	m.ServiceInvocation = newServiceInvocation(m.reg, o, rs)
	if o.RecordErrorCodes {
		m.ErrorCodes = newErrorCodes(m.reg, o.AppID, rs)
	}
	return m
}

// Enabled reports whether metrics are exported.
func (m *Metrics) Enabled() bool { return m != nil && m.enabled }

// LatencyBuckets are the latency histogram bounds (milliseconds) daprd
// uses for every latency metric: spec.metric.latencyDistributionBuckets,
// or daprd's default.
func (m *Metrics) LatencyBuckets() []float64 {
	if m == nil || len(m.buckets) == 0 {
		return DefaultLatencyBuckets
	}
	return m.buckets
}

// Relabel applies Configuration spec.metric.rules to the label values lv
// (named names) of the metric name (daprd's full name), in place. Other
// packages call it when they resolve a label set, never per request.
func (m *Metrics) Relabel(name string, names, lv []string) {
	if m != nil {
		m.rules.apply(name, names, lv)
	}
}

// Registerer is where other packages register their collectors.
func (m *Metrics) Registerer() prometheus.Registerer {
	if !m.Enabled() {
		return noRegister{}
	}
	return m.reg
}

// Gatherer reads the registered metrics (tests, the /metrics handler).
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// CounterVec registers and returns a counter family named name.
func (m *Metrics) CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.register(c)
	return c
}

// GaugeVec registers and returns a gauge family named name.
func (m *Metrics) GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	m.register(g)
	return g
}

// HistogramVec registers and returns a histogram family named name;
// nil buckets means daprd's latency buckets (milliseconds).
func (m *Metrics) HistogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	if buckets == nil {
		buckets = DefaultLatencyBuckets
	}
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	m.register(h)
	return h
}

// GaugeFunc registers a gauge whose value f computes at scrape time (off
// every hot path).
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// CounterFunc registers a counter whose value f computes at scrape time.
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.register(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

func (m *Metrics) register(c prometheus.Collector) {
	if !m.Enabled() {
		return
	}
	m.reg.MustRegister(c)
}

// noRegister accepts and drops collectors: metrics are off.
type noRegister struct{}

func (noRegister) Register(prometheus.Collector) error  { return nil }
func (noRegister) MustRegister(...prometheus.Collector) {}
func (noRegister) Unregister(prometheus.Collector) bool { return true }

// Request is one finished HTTP API request, as Observe needs it.
type Request struct {
	Route     string // the route's Name; "" when no route matched
	Method    []byte // the request's verb, as sent
	Path      []byte // the request's path, before '?'
	Status    int
	ReqBytes  int64 // Content-Length, 0 when unknown (as daprd)
	RespBytes int64 // response body bytes
	Elapsed   time.Duration
}

// HTTPServer records daprd's dapr_http_server_* metrics.
type HTTPServer struct {
	appID     string
	withPath  bool // a path label exists (increased cardinality or path matching)
	legacy    bool // increased cardinality
	noVerbs   bool
	matcher   *pathMatcher
	rules     rules
	labels    []string
	count     *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	reqBytes  prometheus.Observer
	respBytes prometheus.Observer

	series atomic.Pointer[map[string]*series]
	mu     sync.Mutex
}

type series struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

// maxCached bounds the handle cache: past it a new label set is still
// recorded, through WithLabelValues, but not cached (a high-cardinality
// configuration must not grow memory through the cache as well).
const maxCached = 4096

func newHTTPServer(reg prometheus.Registerer, o Options, rs rules) *HTTPServer {
	h := &HTTPServer{
		appID:   o.AppID,
		legacy:  o.IncreasedCardinality,
		matcher: newPathMatcher(o.PathMatching),
		rules:   rs,
	}
	h.withPath = h.legacy || h.matcher != nil
	h.noVerbs = h.withPath && o.ExcludeVerbs
	labels := []string{"app_id", "method", "status"}
	if h.withPath {
		labels = []string{"app_id", "method", "path", "status"}
	}
	h.labels = labels
	buckets := o.LatencyBuckets
	if len(buckets) == 0 {
		buckets = DefaultLatencyBuckets
	}
	h.count = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dapr_http_server_request_count",
		Help: "Count of HTTP requests processed by the server.",
	}, labels)
	h.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dapr_http_server_latency",
		Help:    "HTTP request end-to-end latency in server (milliseconds).",
		Buckets: buckets,
	}, labels)
	req := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dapr_http_server_request_bytes",
		Help:    "HTTP request body size if set as ContentLength (uncompressed) in server.",
		Buckets: SizeBuckets,
	}, []string{"app_id"})
	resp := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dapr_http_server_response_bytes",
		Help:    "HTTP response body size (uncompressed) in server.",
		Buckets: SizeBuckets,
	}, []string{"app_id"})
	reg.MustRegister(h.count, h.latency, req, resp)
	app := []string{"app_id"}
	reqLV, respLV := []string{o.AppID}, []string{o.AppID}
	rs.apply("dapr_http_server_request_bytes", app, reqLV)
	rs.apply("dapr_http_server_response_bytes", app, respLV)
	h.reqBytes = req.WithLabelValues(reqLV...)
	h.respBytes = resp.WithLabelValues(respLV...)
	empty := map[string]*series{}
	h.series.Store(&empty)
	return h
}

// Observe records r. It does not allocate once r's label set was seen.
func (h *HTTPServer) Observe(r *Request) {
	var kb [160]byte
	k := kb[:0]
	var pathLabel []byte
	var matched string
	if h.withPath {
		pathLabel, matched = h.pathLabel(r.Path)
		if !h.noVerbs {
			k = append(k, r.Method...)
		}
		k = append(k, 0)
		if matched != "" {
			k = append(k, matched...)
		} else {
			k = append(k, pathLabel...)
		}
	} else {
		k = append(k, r.Route...)
		if r.Route == "invoke" {
			k = append(k, 0)
			k = append(k, invokeTarget(r.Path)...)
		}
	}
	k = append(k, 0)
	k = strconv.AppendInt(k, int64(r.Status), 10)

	s := (*h.series.Load())[string(k)]
	if s == nil {
		s = h.resolve(string(k), r, pathLabel, matched)
	}
	ms := float64(r.Elapsed) / float64(time.Millisecond)
	s.count.Inc()
	s.latency.Observe(ms)
	h.reqBytes.Observe(float64(r.ReqBytes))
	h.respBytes.Observe(float64(r.RespBytes))
}

// resolve creates the handles for a new label set and caches them.
func (h *HTTPServer) resolve(key string, r *Request, pathLabel []byte, matched string) *series {
	status := strconv.Itoa(r.Status)
	var lv []string
	if h.withPath {
		method := string(r.Method)
		if h.noVerbs {
			method = ""
		}
		path := matched
		if path == "" {
			path = string(pathLabel)
		}
		lv = []string{h.appID, method, path, status}
	} else {
		lv = []string{h.appID, EndpointName(r.Route, r.Path), status}
	}
	latLV := append([]string(nil), lv...)
	h.rules.apply("dapr_http_server_request_count", h.labels, lv)
	h.rules.apply("dapr_http_server_latency", h.labels, latLV)
	s := &series{count: h.count.WithLabelValues(lv...), latency: h.latency.WithLabelValues(latLV...)}
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.series.Load()
	if prev := old[key]; prev != nil {
		return prev
	}
	if len(old) >= maxCached {
		return s
	}
	m := make(map[string]*series, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[key] = s
	h.series.Store(&m)
	return s
}

// pathLabel returns the path label: a matching pathMatching pattern
// (matched), or the path normalised as daprd does (a view of path).
func (h *HTTPServer) pathLabel(path []byte) (label []byte, matched string) {
	if h.matcher != nil {
		if p, ok := h.matcher.match(path); ok {
			return nil, p
		}
		if !h.legacy {
			return nil, unmatchedPath
		}
	}
	return normalizePath(path), ""
}
