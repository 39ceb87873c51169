package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names of the app channel family, as daprd's.
const (
	clientSentBytes     = "dapr_http_client_sent_bytes"
	clientReceivedBytes = "dapr_http_client_received_bytes"
	clientLatency       = "dapr_http_client_roundtrip_latency"
	clientCompleted     = "dapr_http_client_completed_count"
	probeCompleted      = "dapr_http_healthprobes_completed_count"
	probeLatency        = "dapr_http_healthprobes_roundtrip_latency"
)

// AppChannel records daprd's metrics of the calls the sidecar makes to its
// app (dapr_http_client_*: invocation, pub/sub delivery, input bindings,
// /dapr/subscribe) and of the app health probes
// (dapr_http_healthprobes_*). Labels follow daprd's: app_id and status,
// plus method and path (normalised like the server's) in increased
// cardinality or with pathMatching. The sent-bytes histogram carries the
// same label names with status "" (daprd records it before the answer);
// received bytes carry app_id only.
//
// A nil *AppChannel records nothing. Recording a label set seen before does
// not allocate.
type AppChannel struct {
	appID    string
	withPath bool
	legacy   bool
	noVerbs  bool
	matcher  *pathMatcher
	rules    rules
	labels   []string

	sent      *prometheus.HistogramVec
	completed *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	received  prometheus.Observer

	probeCount   *prometheus.CounterVec
	probeLatency *prometheus.HistogramVec

	series atomic.Pointer[map[string]*clientSeries]
	probes atomic.Pointer[map[int]*probeSeries]
	mu     sync.Mutex
}

type clientSeries struct {
	sent    prometheus.Observer
	count   prometheus.Counter
	latency prometheus.Observer
}

type probeSeries struct {
	count   prometheus.Counter
	latency prometheus.Observer
}

func newAppChannel(reg prometheus.Registerer, o Options, rs rules) *AppChannel {
	a := &AppChannel{appID: o.AppID, legacy: o.IncreasedCardinality, matcher: newPathMatcher(o.PathMatching), rules: rs}
	a.withPath = a.legacy || a.matcher != nil
	a.noVerbs = a.withPath && o.ExcludeVerbs
	a.labels = []string{"app_id", "status"}
	if a.withPath {
		a.labels = []string{"app_id", "method", "path", "status"}
	}
	buckets := o.LatencyBuckets
	if len(buckets) == 0 {
		buckets = DefaultLatencyBuckets
	}
	a.sent = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: clientSentBytes, Help: "Total bytes sent in request body (not including headers)", Buckets: SizeBuckets,
	}, a.labels)
	recv := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    clientReceivedBytes,
		Help:    "Total bytes received in response bodies (not including headers but including error responses with bodies)",
		Buckets: SizeBuckets,
	}, []string{"app_id"})
	a.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    clientLatency,
		Help:    "Time between first byte of request headers sent to last byte of response received, or terminal error",
		Buckets: buckets,
	}, a.labels)
	a.completed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: clientCompleted, Help: "Count of completed requests",
	}, a.labels)
	a.probeCount = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: probeCompleted, Help: "Count of completed health probes",
	}, []string{"app_id", "status"})
	a.probeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    probeLatency,
		Help:    "Time between first byte of health probes headers sent to last byte of response received, or terminal error",
		Buckets: buckets,
	}, []string{"app_id", "status"})
	reg.MustRegister(a.sent, recv, a.latency, a.completed, a.probeCount, a.probeLatency)
	lv := []string{o.AppID}
	rs.apply(clientReceivedBytes, []string{"app_id"}, lv)
	a.received = recv.WithLabelValues(lv...)
	empty := map[string]*clientSeries{}
	a.series.Store(&empty)
	noProbes := map[int]*probeSeries{}
	a.probes.Store(&noProbes)
	return a
}

// AppCall records one call to the app: its verb and path (before '?'), the
// status (a failed call counts as 500, as in daprd), the request body bytes
// sent, the response's Content-Length (0 when unknown) and the time until
// the response head arrived. daprd counts whole milliseconds.
func (a *AppChannel) AppCall(method, path []byte, status int, sent, received int64, elapsed time.Duration) {
	if a == nil {
		return
	}
	var kb [160]byte
	k := kb[:0]
	var pathLabel []byte
	var matched string
	if a.withPath {
		pathLabel, matched = a.pathLabel(path)
		if !a.noVerbs {
			k = append(k, method...)
		}
		k = append(k, 0)
		if matched != "" {
			k = append(k, matched...)
		} else {
			k = append(k, pathLabel...)
		}
		k = append(k, 0)
	}
	k = strconv.AppendInt(k, int64(status), 10)
	s := (*a.series.Load())[string(k)]
	if s == nil {
		s = a.resolve(string(k), method, pathLabel, matched, status)
	}
	s.sent.Observe(float64(sent))
	s.count.Inc()
	s.latency.Observe(float64(elapsed / time.Millisecond))
	if received < 0 {
		received = 0
	}
	a.received.Observe(float64(received))
}

func (a *AppChannel) resolve(key string, method, pathLabel []byte, matched string, status int) *clientSeries {
	st := strconv.Itoa(status)
	var lv, sentLV []string
	if a.withPath {
		m := string(method)
		if a.noVerbs {
			m = ""
		}
		p := matched
		if p == "" {
			p = string(pathLabel)
		}
		lv = []string{a.appID, m, p, st}
		sentLV = []string{a.appID, m, p, ""}
	} else {
		lv = []string{a.appID, st}
		sentLV = []string{a.appID, ""}
	}
	countLV := append([]string(nil), lv...)
	a.rules.apply(clientSentBytes, a.labels, sentLV)
	a.rules.apply(clientCompleted, a.labels, countLV)
	a.rules.apply(clientLatency, a.labels, lv)
	s := &clientSeries{
		sent:    a.sent.WithLabelValues(sentLV...),
		count:   a.completed.WithLabelValues(countLV...),
		latency: a.latency.WithLabelValues(lv...),
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := *a.series.Load()
	if prev := old[key]; prev != nil {
		return prev
	}
	if len(old) >= maxCached {
		return s
	}
	m := make(map[string]*clientSeries, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[key] = s
	a.series.Store(&m)
	return s
}

// pathLabel is HTTPServer.pathLabel for the app's paths.
func (a *AppChannel) pathLabel(path []byte) (label []byte, matched string) {
	if a.matcher != nil {
		if p, ok := a.matcher.match(path); ok {
			return nil, p
		}
		if !a.legacy {
			return nil, unmatchedPath
		}
	}
	return normalizePath(path), ""
}

// HealthProbe records one app health probe: the app's status (500 when the
// probe failed without an answer, as daprd) and its round trip.
func (a *AppChannel) HealthProbe(status int, elapsed time.Duration) {
	if a == nil {
		return
	}
	s := (*a.probes.Load())[status]
	if s == nil {
		s = a.resolveProbe(status)
	}
	s.count.Inc()
	s.latency.Observe(float64(elapsed / time.Millisecond))
}

func (a *AppChannel) resolveProbe(status int) *probeSeries {
	names := []string{"app_id", "status"}
	clv := []string{a.appID, strconv.Itoa(status)}
	llv := append([]string(nil), clv...)
	a.rules.apply(probeCompleted, names, clv)
	a.rules.apply(probeLatency, names, llv)
	s := &probeSeries{count: a.probeCount.WithLabelValues(clv...), latency: a.probeLatency.WithLabelValues(llv...)}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := *a.probes.Load()
	if prev := old[status]; prev != nil {
		return prev
	}
	m := make(map[int]*probeSeries, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[status] = s
	a.probes.Store(&m)
	return s
}
