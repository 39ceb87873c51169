package metrics

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func gather(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func labels(m *dto.Metric) string {
	var b strings.Builder
	for i, l := range m.GetLabel() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.GetName() + "=" + l.GetValue())
	}
	return b.String()
}

func counts(f *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		out[labels(m)] = m.GetCounter().GetValue()
	}
	return out
}

func req(route, method, path string, status int) *Request {
	return &Request{Route: route, Method: []byte(method), Path: []byte(path), Status: status,
		ReqBytes: 10, RespBytes: 2000, Elapsed: 3 * time.Millisecond}
}

func TestLowCardinalityLabels(t *testing.T) {
	m := New(Options{AppID: "app", Enabled: true})
	m.HTTP.Observe(req("state.get", "GET", "/v1.0/state/s/k1", 200))
	m.HTTP.Observe(req("state.get", "GET", "/v1.0/state/s/k2", 200))
	m.HTTP.Observe(req("state.get", "GET", "/v1.0/state/s/k3", 204))
	m.HTTP.Observe(req("invoke", "POST", "/v1.0/invoke/other/method/x", 200))
	m.HTTP.Observe(req("", "GET", "/nope", 404))
	fams := gather(t, m)
	got := counts(fams["dapr_http_server_request_count"])
	want := map[string]float64{
		"app_id=app,method=GetState,status=200":            2,
		"app_id=app,method=GetState,status=204":            1,
		"app_id=app,method=InvokeService/other,status=200": 1,
		"app_id=app,method=,status=404":                    1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	lat := fams["dapr_http_server_latency"]
	if lat == nil || lat.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatal("no latency histogram")
	}
	for _, mm := range lat.GetMetric() {
		if labels(mm) == "app_id=app,method=GetState,status=200" {
			h := mm.GetHistogram()
			if h.GetSampleCount() != 2 || h.GetSampleSum() != 6 {
				t.Errorf("latency count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
			}
			if len(h.GetBucket()) != len(DefaultLatencyBuckets) {
				t.Errorf("buckets %d", len(h.GetBucket()))
			}
		}
	}
	rb := fams["dapr_http_server_response_bytes"].GetMetric()[0]
	if labels(rb) != "app_id=app" || rb.GetHistogram().GetSampleCount() != 5 || rb.GetHistogram().GetSampleSum() != 10000 {
		t.Errorf("response bytes %s %v", labels(rb), rb.GetHistogram())
	}
	if fams["go_goroutines"] == nil || fams["process_cpu_seconds_total"] == nil && fams["process_start_time_seconds"] == nil {
		t.Error("runtime/process collectors missing")
	}
}

func TestIncreasedCardinalityAndPathMatching(t *testing.T) {
	m := New(Options{AppID: "a", Enabled: true, IncreasedCardinality: true})
	m.HTTP.Observe(req("state.get", "GET", "/v1.0/state/store/key1", 200))
	m.HTTP.Observe(req("state.get", "GET", "/v1.0/state/store/key2", 200))
	m.HTTP.Observe(req("metadata.get", "GET", "/v1.0/metadata", 200))
	got := counts(gather(t, m)["dapr_http_server_request_count"])
	if got["app_id=a,method=GET,path=/v1.0/state/store,status=200"] != 2 || got["app_id=a,method=GET,path=/v1.0/metadata,status=200"] != 1 {
		t.Errorf("got %v", got)
	}

	m = New(Options{AppID: "a", Enabled: true, PathMatching: []string{"/v1.0/state/{store}/{key}"}, ExcludeVerbs: true})
	m.HTTP.Observe(req("state.get", "GET", "/v1.0/state/store/key1", 200))
	m.HTTP.Observe(req("metadata.get", "GET", "/v1.0/metadata", 200))
	got = counts(gather(t, m)["dapr_http_server_request_count"])
	if got["app_id=a,method=,path=/v1.0/state/{store}/{key},status=200"] != 1 || got["app_id=a,method=,path=_,status=200"] != 1 {
		t.Errorf("got %v", got)
	}
}

func TestPathMatcher(t *testing.T) {
	pm := newPathMatcher([]string{"/orders/{id}", "/orders/{id}/items/{item}", "/orders/special", "/static/"})
	for path, want := range map[string]string{
		"/orders/1":         "/orders/{id}",
		"/orders/special":   "/orders/special",
		"/orders/1/items/2": "/orders/{id}/items/{item}",
		"/static/a/b":       "/static/",
		"/orders":           "",
		"/orders/1/x":       "",
	} {
		got, _ := pm.match([]byte(path))
		if got != want {
			t.Errorf("%s: got %q, want %q", path, got, want)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"/v1.0/state/s/k":     "/v1.0/state/s",
		"/v1.0/secrets/s/k/x": "/v1.0/secrets/s",
		"/v1.0/state/s":       "/v1.0/state/s",
		"/v1.0/invoke/a/b":    "/v1.0/invoke/a/b",
	} {
		if got := string(normalizePath([]byte(in))); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}

func TestDisabled(t *testing.T) {
	m := New(Options{AppID: "a"})
	if m.HTTP != nil || m.Enabled() {
		t.Fatal("disabled metrics record")
	}
	c := m.CounterVec("x_total", "x", "l")
	c.WithLabelValues("v").Inc() // usable, not exported
	var nilM *Metrics
	nilM.CounterVec("y_total", "y").WithLabelValues().Inc()
	if fams := gather(t, m); len(fams) != 0 {
		t.Errorf("disabled registry exports %d families", len(fams))
	}
}

func TestRegistryAPI(t *testing.T) {
	m := New(Options{AppID: "a", Enabled: true})
	c := m.CounterVec("dapr_component_test_count", "t", "app_id", "component")
	h := c.WithLabelValues("a", "store")
	h.Inc()
	m.GaugeFunc("skiff_test_gauge", "g", func() float64 { return 7 })
	fams := gather(t, m)
	if counts(fams["dapr_component_test_count"])["app_id=a,component=store"] != 1 {
		t.Error("component counter")
	}
	if fams["skiff_test_gauge"].GetMetric()[0].GetGauge().GetValue() != 7 {
		t.Error("gauge func")
	}
}
