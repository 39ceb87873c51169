package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Names of daprd's service invocation family.
const (
	siReqSent    = "dapr_runtime_service_invocation_req_sent_total"
	siReqRecv    = "dapr_runtime_service_invocation_req_recv_total"
	siResSent    = "dapr_runtime_service_invocation_res_sent_total"
	siResRecv    = "dapr_runtime_service_invocation_res_recv_total"
	siResLatency = "dapr_runtime_service_invocation_res_recv_latency_ms"
)

// ServiceInvocation records daprd's dapr_runtime_service_invocation_*
// metrics with daprd 1.18's labels (no method label since daprd 1.13):
//
//	req_sent_total{app_id, dst_app_id, type}          caller, per request sent
//	res_recv_total{app_id, src_app_id, status, type}  caller, per response
//	res_recv_latency_ms{app_id, src_app_id, status}   caller, round trip
//	req_recv_total{app_id, src_app_id}                callee, per request
//	res_sent_total{app_id, dst_app_id, status}        callee, per response
//
// daprd records them only for calls between sidecars (invokeRemote and the
// internal gRPC server); a call to the sidecar's own app id is a local call
// and records none, so skiffd, which serves only its own app id, does not
// call these yet: they are here for the multi-host path. A nil
// *ServiceInvocation records nothing.
type ServiceInvocation struct {
	appID string
	rules rules

	reqSent, reqRecv, resSent, resRecv *prometheus.CounterVec
	latency                            *prometheus.HistogramVec

	cache atomic.Pointer[map[string]prometheus.Collector]
	mu    sync.Mutex
}

func newServiceInvocation(reg prometheus.Registerer, o Options, rs rules) *ServiceInvocation {
	buckets := o.LatencyBuckets
	if len(buckets) == 0 {
		buckets = DefaultLatencyBuckets
	}
	s := &ServiceInvocation{appID: o.AppID, rules: rs}
	s.reqSent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: siReqSent, Help: "The number of requests sent via service invocation."},
		[]string{"app_id", "dst_app_id", "type"})
	s.reqRecv = prometheus.NewCounterVec(prometheus.CounterOpts{Name: siReqRecv, Help: "The number of requests received via service invocation."},
		[]string{"app_id", "src_app_id"})
	s.resSent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: siResSent, Help: "The number of responses sent via service invocation."},
		[]string{"app_id", "dst_app_id", "status"})
	s.resRecv = prometheus.NewCounterVec(prometheus.CounterOpts{Name: siResRecv, Help: "The number of responses received via service invocation."},
		[]string{"app_id", "src_app_id", "status", "type"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: siResLatency, Help: "The latency of service invocation response.", Buckets: buckets},
		[]string{"app_id", "src_app_id", "status"})
	reg.MustRegister(s.reqSent, s.reqRecv, s.resSent, s.resRecv, s.latency)
	empty := map[string]prometheus.Collector{}
	s.cache.Store(&empty)
	return s
}

// handle returns the series of family name for app_id and the label
// values a, status (absent when < 0) and c (absent when ""), in that order,
// resolving it (rules applied) the first time.
func (s *ServiceInvocation) handle(name string, vec interface {
	WithLabelValues(...string) prometheus.Collector
}, names []string, a string, status int, c string) prometheus.Collector {
	var kb [128]byte
	k := append(append(append(kb[:0], name...), 0), a...)
	k = append(k, 0)
	if status >= 0 {
		k = strconv.AppendInt(k, int64(status), 10)
	}
	k = append(append(k, 0), c...)
	if h := (*s.cache.Load())[string(k)]; h != nil {
		return h
	}
	lv := []string{s.appID, a}
	if status >= 0 {
		lv = append(lv, strconv.Itoa(status))
	}
	if c != "" {
		lv = append(lv, c)
	}
	s.rules.apply(name, names, lv)
	h := vec.WithLabelValues(lv...)
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.cache.Load()
	if prev := old[string(k)]; prev != nil {
		return prev
	}
	if len(old) >= maxCached {
		return h
	}
	m := make(map[string]prometheus.Collector, len(old)+1)
	for key, v := range old {
		m[key] = v
	}
	m[string(k)] = h
	s.cache.Store(&m)
	return h
}

type counterVec struct{ *prometheus.CounterVec }

func (v counterVec) WithLabelValues(lv ...string) prometheus.Collector {
	return v.CounterVec.WithLabelValues(lv...)
}

type histogramVec struct{ *prometheus.HistogramVec }

func (v histogramVec) WithLabelValues(lv ...string) prometheus.Collector {
	return v.HistogramVec.WithLabelValues(lv...).(prometheus.Histogram)
}

// RequestSent: the caller sent a request to dst (streaming: a proxied
// stream).
func (s *ServiceInvocation) RequestSent(dst string, streaming bool) {
	if s == nil {
		return
	}
	s.handle(siReqSent, counterVec{s.reqSent}, []string{"app_id", "dst_app_id", "type"}, dst, -1, callType(streaming)).(prometheus.Counter).Inc()
}

// ResponseReceived: the caller got src's answer (status: HTTP status, or
// gRPC code) after elapsed; daprd observes whole milliseconds and no
// latency for streams.
func (s *ServiceInvocation) ResponseReceived(src string, status int, streaming bool, elapsed time.Duration) {
	if s == nil {
		return
	}
	s.handle(siResRecv, counterVec{s.resRecv}, []string{"app_id", "src_app_id", "status", "type"}, src, status, callType(streaming)).(prometheus.Counter).Inc()
	if !streaming {
		s.handle(siResLatency, histogramVec{s.latency}, []string{"app_id", "src_app_id", "status"}, src, status, "").(prometheus.Histogram).Observe(float64(elapsed / time.Millisecond))
	}
}

// RequestReceived: the callee got a request from src.
func (s *ServiceInvocation) RequestReceived(src string) {
	if s == nil {
		return
	}
	s.handle(siReqRecv, counterVec{s.reqRecv}, []string{"app_id", "src_app_id"}, src, -1, "").(prometheus.Counter).Inc()
}

// ResponseSent: the callee answered the caller dst with status.
func (s *ServiceInvocation) ResponseSent(dst string, status int) {
	if s == nil {
		return
	}
	s.handle(siResSent, counterVec{s.resSent}, []string{"app_id", "dst_app_id", "status"}, dst, status, "").(prometheus.Counter).Inc()
}

func callType(streaming bool) string {
	if streaming {
		return "streaming"
	}
	return "unary"
}
