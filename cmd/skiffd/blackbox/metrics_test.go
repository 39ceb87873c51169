package blackbox

import (
	"strconv"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// Known traffic, then a Prometheus scrape of the real binary: daprd's
// names, labels (increased cardinality, daprd 1.18's default) and values.
func TestMetricsScrapeAfterTraffic(t *testing.T) {
	mport := freePort(t)
	s := startSidecar(t, Opts{AppID: "metricsapp", Args: []string{"--metrics-port", strconv.Itoa(mport)}})
	for i := range 3 {
		r := s.do("POST", "/v1.0/state/statestore", []byte(`[{"key":"k`+strconv.Itoa(i)+`","value":"v"}]`), "Content-Type", "application/json")
		wantStatus(t, "save", r, 204)
	}
	for i := range 5 {
		wantStatus(t, "get", s.do("GET", "/v1.0/state/statestore/k"+strconv.Itoa(i%3), nil), 200)
	}
	wantStatus(t, "get missing", s.do("GET", "/v1.0/state/statestore/missing", nil), 204)
	wantStatus(t, "unknown store", s.do("GET", "/v1.0/state/nostore/k", nil), 400)

	fams := scrape(t, mport)
	count := fams["dapr_http_server_request_count"]
	if count.GetType() != dto.MetricType_COUNTER {
		t.Fatalf("request_count type %v", count.GetType())
	}
	for _, c := range []struct {
		method, path, status string
		n                    float64
	}{
		{"POST", "/v1.0/state/statestore", "204", 3},
		{"GET", "/v1.0/state/statestore", "200", 5},
		{"GET", "/v1.0/state/statestore", "204", 1},
		{"GET", "/v1.0/state/nostore", "400", 1},
	} {
		lbl := map[string]string{"app_id": "metricsapp", "method": c.method, "path": c.path, "status": c.status}
		m := series(count, lbl)
		if m == nil || m.GetCounter().GetValue() != c.n {
			t.Errorf("request_count%v = %v, want %v; series: %s", lbl, m.GetCounter().GetValue(), c.n, describe(count))
		}
		lat := series(fams["dapr_http_server_latency"], lbl)
		if lat == nil || lat.GetHistogram().GetSampleCount() != uint64(c.n) {
			t.Errorf("latency%v count = %v, want %v", lbl, lat.GetHistogram().GetSampleCount(), c.n)
		} else if b := lat.GetHistogram().GetBucket(); len(b) != 35 || b[0].GetUpperBound() != 1 || b[33].GetUpperBound() != 100000 {
			t.Errorf("latency buckets are not daprd's: %v", lat.GetHistogram().GetBucket())
		}
	}
	app := map[string]string{"app_id": "metricsapp"}
	rb := series(fams["dapr_http_server_request_bytes"], app)
	// Ten requests above, plus the health checks startSidecar polled with.
	if rb == nil || rb.GetHistogram().GetSampleCount() < 10 {
		t.Errorf("request_bytes: %v", rb)
	} else if sum := rb.GetHistogram().GetSampleSum(); sum < 3*20 {
		t.Errorf("request_bytes sum %v too small for three save bodies", sum)
	}
	if sb := series(fams["dapr_http_server_response_bytes"], app); sb == nil || sb.GetHistogram().GetSampleCount() < 10 {
		t.Errorf("response_bytes: %v", sb)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_resident_memory_bytes",
		"skiff_http_connections", "skiff_worker_pool_queue_depth", "skiff_worker_pool_workers", "skiff_buffer_pool_allocated_total"} {
		if fams[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	if c := fams["skiff_http_connections"]; c != nil && c.GetMetric()[0].GetGauge().GetValue() < 1 {
		t.Errorf("skiff_http_connections = %v with a keep-alive client", c.GetMetric()[0].GetGauge().GetValue())
	}
}
