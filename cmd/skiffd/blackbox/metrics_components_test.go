package blackbox

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// TestMetricsComponents: known traffic to a state store, a pub/sub (publish
// and delivery to the app), an output binding, a secret store and a
// configuration store, then a scrape: daprd 1.18's component metric names,
// labels and counts, its latency buckets, and the dapr_runtime_component_*
// start-up counters (one component fails to start under ignoreErrors).
func TestMetricsComponents(t *testing.T) {
	t.Parallel()
	app := startSubApp(t, 0, `[{"pubsubname":"pubsub","topic":"orders","route":"/orders"}]`, nil)
	dir := t.TempDir()
	secretsFile := writeFile(t, t.TempDir(), "s.json", `{"redisPassword":"s3cret"}`)
	root := t.TempDir()
	writeFile(t, dir, "components.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.in-memory
  version: v1
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.in-memory
  version: v1
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: broken
spec:
  type: pubsub.in-memory
  version: v1
  ignoreErrors: true
  metadata:
  - name: maxQueueSize
    value: "-1"
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: vault
spec:
  type: secretstores.local.file
  version: v1
  metadata:
  - name: secretsFile
    value: `+secretsFile+`
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: appconfig
spec:
  type: configuration.in-memory
  version: v1
  metadata:
  - name: item.color
    value: "blue||1"
---
`+bindingYAML("files", "bindings.localstorage", "rootPath", root))
	mport := freePort(t)
	s := startSidecar(t, Opts{AppID: "cmapp", AppPort: app.Port,
		Args: []string{"--resources-path", dir, "--metrics-port", strconv.Itoa(mport)}})
	s.waitSubscribed(t, 1)

	// State: 2 saves (one failing on its etag), 3 gets, 1 delete.
	wantStatus(t, "save", s.do("POST", "/v1.0/state/statestore", []byte(`[{"key":"k1","value":{"a":1}}]`), "Content-Type", "application/json"), 204)
	wantStatus(t, "save bad etag", s.do("POST", "/v1.0/state/statestore", []byte(`[{"key":"k1","value":2,"etag":"999"}]`), "Content-Type", "application/json"), 409)
	wantStatus(t, "get", s.do("GET", "/v1.0/state/statestore/k1", nil), 200)
	wantStatus(t, "get again", s.do("GET", "/v1.0/state/statestore/k1", nil), 200)
	wantStatus(t, "get missing", s.do("GET", "/v1.0/state/statestore/nope", nil), 204)
	wantStatus(t, "delete", s.do("DELETE", "/v1.0/state/statestore/k1", nil), 204)
	// Publish one event; the app takes it.
	s.publish(t, "pubsub", "orders", `{"id":1}`, "Content-Type", "application/json")
	app.waitFor("/orders", 1)
	// Output binding, secret, configuration.
	wantStatus(t, "binding", s.do("POST", "/v1.0/bindings/files", []byte(`{"operation":"create","data":"hello","metadata":{"fileName":"a.txt"}}`)), 200)
	wantStatus(t, "secret", s.do("GET", "/v1.0/secrets/vault/redisPassword", nil), 200)
	wantStatus(t, "configuration", s.do("GET", "/v1.0/configuration/appconfig?key=color", nil), 200)

	// The delivery is recorded once the app has answered: poll for it.
	var fams map[string]*dto.MetricFamily
	ingress := map[string]string{"app_id": "cmapp", "component": "pubsub", "namespace": "",
		"process_status": "success", "status": "success", "topic": "orders"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		fams = scrape(t, mport)
		if m := series(fams["dapr_component_pubsub_ingress_count"], ingress); m != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	op := func(component, operation, success string) map[string]string {
		return map[string]string{"app_id": "cmapp", "component": component, "namespace": "", "operation": operation, "success": success}
	}
	check := func(family string, lbl map[string]string, want float64) {
		t.Helper()
		count := fams[family+"_count"]
		if count.GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s_count: type %v, want counter", family, count.GetType())
		}
		m := series(count, lbl)
		if m == nil || m.GetCounter().GetValue() != want {
			t.Errorf("%s_count%v = %v, want %v; series: %s", family, lbl, m.GetCounter().GetValue(), want, describe(count))
		}
		lat := fams[family+"_latencies"]
		if lat.GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("%s_latencies: type %v, want histogram", family, lat.GetType())
		}
		h := series(lat, lbl).GetHistogram()
		if h.GetSampleCount() != uint64(want) {
			t.Errorf("%s_latencies%v count = %v, want %v", family, lbl, h.GetSampleCount(), want)
		}
		// daprd's buckets, in milliseconds: a loopback call is well under 100 ms.
		if b := h.GetBucket(); len(b) != 35 || b[0].GetUpperBound() != 1 || b[33].GetUpperBound() != 100000 {
			t.Errorf("%s_latencies buckets are not daprd's: %v", family, b)
		} else if b[17].GetUpperBound() != 100 || b[17].GetCumulativeCount() != uint64(want) {
			t.Errorf("%s_latencies: %d of %v samples under 100 ms", family, b[17].GetCumulativeCount(), want)
		}
	}
	check("dapr_component_state", op("statestore", "set", "true"), 1)
	check("dapr_component_state", op("statestore", "set", "false"), 1)
	check("dapr_component_state", op("statestore", "get", "true"), 3)
	check("dapr_component_state", op("statestore", "delete", "true"), 1)
	if m := series(fams["dapr_component_state_count"], op("statestore", "get", "false")); m != nil {
		t.Errorf("a series for failed gets exists though none failed (daprd exports only what happened)")
	}
	check("dapr_component_pubsub_egress", map[string]string{"app_id": "cmapp", "component": "pubsub", "namespace": "", "success": "true", "topic": "orders"}, 1)
	check("dapr_component_pubsub_ingress", ingress, 1)
	check("dapr_component_output_binding", op("files", "create", "true"), 1)
	check("dapr_component_secret", op("vault", "get", "true"), 1)
	check("dapr_component_configuration", op("appconfig", "get", "true"), 1)

	// Start-up: five components loaded, one failed under ignoreErrors.
	counter := func(family string, lbl map[string]string, want float64) {
		t.Helper()
		m := series(fams[family], lbl)
		if m == nil || m.GetCounter().GetValue() != want {
			t.Errorf("%s%v = %v, want %v; series: %s", family, lbl, m.GetCounter().GetValue(), want, describe(fams[family]))
		}
	}
	counter("dapr_runtime_component_loaded", map[string]string{"app_id": "cmapp"}, 5)
	for typ, n := range map[string]float64{"state.in-memory": 1, "pubsub.in-memory": 1, "secretstores.local.file": 1,
		"configuration.in-memory": 1, "bindings.localstorage": 1} {
		counter("dapr_runtime_component_init_total", map[string]string{"app_id": "cmapp", "component": typ}, n)
	}
	counter("dapr_runtime_component_init_fail_total", map[string]string{"app_id": "cmapp", "component": "pubsub.in-memory",
		"reason": "init", "componentName": "broken"}, 1)

	// Every component family carries exactly daprd's labels.
	for family, want := range map[string]string{
		"dapr_component_state_count":             "app_id component namespace operation success",
		"dapr_component_pubsub_egress_count":     "app_id component namespace success topic",
		"dapr_component_pubsub_ingress_count":    "app_id component namespace process_status status topic",
		"dapr_component_output_binding_count":    "app_id component namespace operation success",
		"dapr_component_secret_count":            "app_id component namespace operation success",
		"dapr_component_configuration_count":     "app_id component namespace operation success",
		"dapr_runtime_component_init_fail_total": "app_id component componentName reason",
	} {
		for _, m := range fams[family].GetMetric() {
			var names []string
			for _, l := range m.GetLabel() {
				names = append(names, l.GetName())
			}
			sort.Strings(names)
			if got := strings.Join(names, " "); got != want {
				t.Errorf("%s labels: %s, want %s", family, got, want)
			}
		}
	}
}
