package blackbox

import (
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Calls to the app (invocation, pub/sub delivery, /dapr/subscribe) are
// counted in daprd's dapr_http_client_* families, app health probes in
// dapr_http_healthprobes_*, API errors in dapr_error_code_total when
// recordErrorCodes is on, and spec.metric.rules rewrite label values.
func TestMetricsInvokeAppChannel(t *testing.T) {
	app := startHealthApp(t, `[{"pubsubname":"pubsub","topic":"orders","route":"/orders"}]`)
	dir := t.TempDir()
	conf := writeFile(t, dir, "config.yaml", `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: metricsinvoke
spec:
  metric:
    recordErrorCodes: true
    http:
      increasedCardinality: true
    rules:
    - name: dapr_http_client_completed_count
      labels:
      - name: path
        regex:
          "/items/{id}": "^/items/[0-9]+$"
`)
	mport := freePort(t)
	s := startSidecar(t, Opts{AppID: "metricsinvoke", AppPort: app.Port, Args: []string{
		"--metrics-port", strconv.Itoa(mport), "--config", conf,
		"--enable-app-health-check", "--app-health-check-path", "/healthz",
		"--app-health-probe-interval", "1", "--app-health-probe-timeout", "500", "--app-health-threshold", "2",
	}})
	s.waitAppHealth(t, "HEALTHY")
	s.waitSubscribed(t, 1)

	// Invocation: small bodies (sent from the event loop) and a large one
	// (sent by a worker), on paths the rule folds into one label value.
	for i := 1; i <= 3; i++ {
		wantStatus(t, "invoke", s.do("POST", "/v1.0/invoke/metricsinvoke/method/items/"+strconv.Itoa(i), []byte(`{"n":1}`)), 200)
	}
	big := make([]byte, 100<<10)
	wantStatus(t, "invoke big", s.do("PUT", "/v1.0/invoke/metricsinvoke/method/items/9", big), 200)
	// Delivery.
	s.publish(t, "pubsub", "orders", `{"id":1}`)
	app.waitFor("/orders", 1)
	// Errors, one per category.
	wantAPIError(t, "other app", s.do("POST", "/v1.0/invoke/nosuchapp/method/x", nil), 500, "ERR_DIRECT_INVOKE")
	wantAPIError(t, "no store", s.do("GET", "/v1.0/state/nosuchstore/k", nil), 400, "ERR_STATE_STORE_NOT_FOUND")
	wantAPIError(t, "no store", s.do("GET", "/v1.0/state/nosuchstore/k2", nil), 400, "ERR_STATE_STORE_NOT_FOUND")
	wantAPIError(t, "no pubsub", s.do("POST", "/v1.0/publish/nosuchpubsub/t", []byte(`{}`)), 404, "ERR_PUBSUB_NOT_FOUND")

	id := "metricsinvoke"
	completed := func(method, path, status string) *dto.Metric {
		return series(scrape(t, mport)["dapr_http_client_completed_count"],
			map[string]string{"app_id": id, "method": method, "path": path, "status": status})
	}
	// The delivery is counted once the app has answered; poll for it.
	deadline := time.Now().Add(10 * time.Second)
	for completed("POST", "/orders", "200") == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	fams := scrape(t, mport)
	cc := fams["dapr_http_client_completed_count"]
	for _, w := range []struct {
		method, path string
		n            float64
	}{
		{"POST", "/items/{id}", 3}, // rule applied
		{"PUT", "/items/{id}", 1},
		{"POST", "/orders", 1},
		{"GET", "/dapr/subscribe", 1},
	} {
		m := series(cc, map[string]string{"app_id": id, "method": w.method, "path": w.path, "status": "200"})
		if m == nil || m.GetCounter().GetValue() != w.n {
			t.Errorf("completed %s %s: %v; series %s", w.method, w.path, m, describe(cc))
		}
	}
	// Rules are per metric: the latency histogram keeps the raw path.
	lat := fams["dapr_http_client_roundtrip_latency"]
	if m := series(lat, map[string]string{"app_id": id, "method": "POST", "path": "/items/2", "status": "200"}); m == nil || m.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("latency /items/2: %s", describe(lat))
	}
	sent := fams["dapr_http_client_sent_bytes"]
	if m := series(sent, map[string]string{"app_id": id, "method": "PUT", "path": "/items/9", "status": ""}); m == nil || m.GetHistogram().GetSampleSum() != float64(len(big)) {
		t.Errorf("sent bytes of the big call: %s", describe(sent))
	}
	if m := series(fams["dapr_http_client_received_bytes"], map[string]string{"app_id": id}); m == nil || m.GetHistogram().GetSampleCount() < 6 {
		t.Errorf("received bytes: %s", describe(fams["dapr_http_client_received_bytes"]))
	}
	// Probes are their own family, never app calls.
	if m := series(fams["dapr_http_healthprobes_completed_count"], map[string]string{"app_id": id, "status": "200"}); m == nil || m.GetCounter().GetValue() < 1 {
		t.Errorf("health probes: %s", describe(fams["dapr_http_healthprobes_completed_count"]))
	}
	if m := series(fams["dapr_http_healthprobes_roundtrip_latency"], map[string]string{"app_id": id, "status": "200"}); m == nil {
		t.Errorf("health probe latency: %s", describe(fams["dapr_http_healthprobes_roundtrip_latency"]))
	}
	for _, m := range cc.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "path" && l.GetValue() == "/healthz" {
				t.Errorf("a health probe counted as an app call: %s", describe(cc))
			}
		}
	}
	// Calling our own app id is a local call in daprd: no
	// dapr_runtime_service_invocation_* series.
	for name := range fams {
		if len(name) > 33 && name[:33] == "dapr_runtime_service_invocation_" {
			t.Errorf("%s recorded for a local call", name)
		}
	}
	ec := fams["dapr_error_code_total"]
	for code, w := range map[string]struct {
		cat string
		n   float64
	}{
		"ERR_DIRECT_INVOKE":         {"service-invocation", 1},
		"ERR_STATE_STORE_NOT_FOUND": {"state", 2},
		"ERR_PUBSUB_NOT_FOUND":      {"pubsub", 1},
	} {
		m := series(ec, map[string]string{"app_id": id, "category": w.cat, "error_code": code})
		if m == nil || m.GetCounter().GetValue() != w.n {
			t.Errorf("%s: %v; series %s", code, m, describe(ec))
		}
	}
	if a := fams["skiff_ebpf_redirect_active"]; a == nil || len(a.GetMetric()) != 1 {
		t.Errorf("skiff_ebpf_redirect_active missing")
	}
}

// Without recordErrorCodes no error is counted; app channel metrics in low
// cardinality carry app_id and status only.
func TestMetricsInvokeLowCardinality(t *testing.T) {
	app := startHealthApp(t, "")
	dir := t.TempDir()
	conf := writeFile(t, dir, "config.yaml", `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: lowcardinvoke
spec:
  metric:
    http:
      increasedCardinality: false
`)
	mport := freePort(t)
	s := startSidecar(t, Opts{AppID: "lowcardinvoke", AppPort: app.Port, Args: []string{"--metrics-port", strconv.Itoa(mport), "--config", conf}})
	wantStatus(t, "invoke", s.do("GET", "/v1.0/invoke/lowcardinvoke/method/echo", nil), 200)
	wantStatus(t, "invoke", s.do("GET", "/v1.0/invoke/lowcardinvoke/method/echo", nil), 200)
	wantAPIError(t, "no store", s.do("GET", "/v1.0/state/nosuchstore/k", nil), 400, "ERR_STATE_STORE_NOT_FOUND")
	fams := scrape(t, mport)
	cc := fams["dapr_http_client_completed_count"]
	if m := series(cc, map[string]string{"app_id": "lowcardinvoke", "status": "200"}); m == nil || m.GetCounter().GetValue() < 2 {
		t.Errorf("completed: %s", describe(cc))
	}
	if m := series(fams["dapr_http_client_sent_bytes"], map[string]string{"app_id": "lowcardinvoke", "status": ""}); m == nil {
		t.Errorf("sent bytes: %s", describe(fams["dapr_http_client_sent_bytes"]))
	}
	if fams["dapr_error_code_total"] != nil {
		t.Errorf("error codes counted without recordErrorCodes: %s", describe(fams["dapr_error_code_total"]))
	}
}
