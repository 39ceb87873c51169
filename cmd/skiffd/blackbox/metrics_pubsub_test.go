package blackbox

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// TestMetricsPubsubOutcomes: a real app answers SUCCESS, RETRY then
// SUCCESS, DROP and 404, and one event matches no routing rule; a bulk
// publish partly fails and a bulk subscription takes a batch. The scrape
// shows daprd 1.18's pub/sub metrics: dapr_component_pubsub_ingress_* by
// process_status and status (latency only where the app was called),
// dapr_component_pubsub_egress_bulk_*, dapr_component_pubsub_ingress_bulk_*
// (daprd labels them component="pubsubName"), and the partial failure's
// ERR_PUBSUB_PUBLISH_MESSAGE in dapr_error_code_total.
func TestMetricsPubsubOutcomes(t *testing.T) {
	t.Parallel()
	app := startSubApp(t, 0, `[{"pubsubname":"pubsub","topic":"ok","route":"/ok"},
		{"pubsubname":"pubsub","topic":"again","route":"/again"},
		{"pubsubname":"pubsub","topic":"drop","route":"/drop"},
		{"pubsubname":"pubsub","topic":"gone","route":"/gone"},
		{"pubsubname":"pubsub","topic":"picky","routes":{"rules":[{"match":"event.type == \"wanted\"","path":"/picky"}]}},
		{"pubsubname":"tiny","topic":"t","route":"/stuck"},
		{"pubsubname":"pubsub","topic":"many","route":"/many","bulkSubscribe":{"enabled":true,"maxMessagesCount":10,"maxAwaitDurationMs":100}}]`,
		func(path string, ev map[string]any, n int) (int, string) {
			switch path {
			case "/ok":
				return 200, `{"status":"SUCCESS"}`
			case "/again":
				if n == 0 {
					return 200, `{"status":"RETRY"}`
				}
				return 200, `{"status":"SUCCESS"}`
			case "/drop":
				return 200, `{"status":"DROP"}`
			case "/gone":
				return 404, ""
			case "/stuck":
				return 500, ""
			case "/many":
				var st []map[string]string
				for _, e := range ev["entries"].([]any) {
					st = append(st, map[string]string{"entryId": e.(map[string]any)["entryId"].(string), "status": "SUCCESS"})
				}
				b, _ := json.Marshal(map[string]any{"statuses": st})
				return 200, string(b)
			}
			return 200, ""
		})
	dir := t.TempDir()
	writeFile(t, dir, "components.yaml", `apiVersion: dapr.io/v1alpha1
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
  name: tiny
spec:
  type: pubsub.in-memory
  version: v1
  metadata:
  - name: maxQueueSize
    value: "2"
`)
	conf := writeFile(t, t.TempDir(), "config.yaml", `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: psmetrics
spec:
  metric:
    recordErrorCodes: true
`)
	mport := freePort(t)
	s := startSidecar(t, Opts{AppID: "psmetrics", AppPort: app.Port,
		Args: []string{"--resources-path", dir, "--config", conf, "--metrics-port", strconv.Itoa(mport)}})
	s.waitSubscribed(t, 7)

	for _, topic := range []string{"ok", "again", "drop", "gone", "picky"} {
		s.publish(t, "pubsub", topic, `{"n":1}`)
	}
	app.waitFor("/ok", 1)
	app.waitFor("/again", 2)
	app.waitFor("/drop", 1)
	app.waitFor("/gone", 1)

	// Bulk publish: tiny holds two messages and its subscriber always
	// fails, so the third entry fails.
	r := s.do("POST", "/v1.0-alpha1/publish/bulk/tiny/t", []byte(`[{"entryId":"a","event":"1","contentType":"text/plain"},
		{"entryId":"b","event":"2","contentType":"text/plain"},{"entryId":"c","event":"3","contentType":"text/plain"}]`))
	if r.Status != 500 {
		t.Fatalf("partial bulk failure: %d %s", r.Status, r.Body)
	}
	wantStatus(t, "bulk publish", s.do("POST", "/v1.0-alpha1/publish/bulk/pubsub/many", []byte(`[{"entryId":"1","event":"x","contentType":"text/plain"},
		{"entryId":"2","event":"y","contentType":"text/plain"}]`)), 204)
	app.waitFor("/many", 1)

	in := map[string]string{"app_id": "psmetrics", "component": "pubsub"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range in {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	type want struct {
		family string
		labels map[string]string
		n      float64 // -1: no such series
	}
	wants := []want{
		{"dapr_component_pubsub_ingress_count", with("topic", "ok", "process_status", "success", "status", "success"), 1},
		{"dapr_component_pubsub_ingress_latencies", with("topic", "ok", "process_status", "success", "status", "success"), 1},
		// RETRY: the app's answer, then daprd's second record, without latency.
		{"dapr_component_pubsub_ingress_count", with("topic", "again", "process_status", "retry", "status", "retry"), 2},
		{"dapr_component_pubsub_ingress_latencies", with("topic", "again", "process_status", "retry", "status", "retry"), 1},
		{"dapr_component_pubsub_ingress_count", with("topic", "again", "process_status", "success", "status", "success"), 1},
		{"dapr_component_pubsub_ingress_count", with("topic", "drop", "process_status", "drop", "status", "success"), 1},
		{"dapr_component_pubsub_ingress_latencies", with("topic", "drop", "process_status", "drop", "status", "success"), 1},
		{"dapr_component_pubsub_ingress_count", with("topic", "gone", "process_status", "drop", "status", "drop"), 1},
		{"dapr_component_pubsub_ingress_latencies", with("topic", "gone", "process_status", "drop", "status", "drop"), 1},
		// No routing rule matched: dropped by the sidecar, no app call.
		{"dapr_component_pubsub_ingress_count", with("topic", "picky", "process_status", "drop", "status", "success"), 1},
		{"dapr_component_pubsub_ingress_latencies", with("topic", "picky", "process_status", "drop", "status", "success"), -1},
		{"dapr_component_pubsub_egress_bulk_count", map[string]string{"component": "tiny", "topic": "t", "success": "false"}, 1},
		{"dapr_component_pubsub_egress_bulk_latencies", map[string]string{"component": "tiny", "topic": "t", "success": "false"}, 1},
		{"dapr_component_pubsub_egress_bulk_count", with("topic", "many", "success", "true"), 1},
		// A bulk publish is not counted as single publishes.
		{"dapr_component_pubsub_egress_count", with("topic", "many"), -1},
		{"dapr_component_pubsub_ingress_bulk_count", map[string]string{"component": "pubsubName", "topic": "many", "process_status": ""}, 1},
		{"dapr_component_pubsub_ingress_bulk_latencies", map[string]string{"component": "pubsubName", "topic": "many", "process_status": ""}, 1},
		{"dapr_component_pubsub_ingress_bulk_event_count", map[string]string{"component": "pubsubName", "topic": "many", "process_status": "SUCCESS"}, 1},
		{"dapr_error_code_total", map[string]string{"app_id": "psmetrics", "category": "pubsub", "error_code": "ERR_PUBSUB_PUBLISH_MESSAGE"}, 1},
	}
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(10 * time.Second)
	for {
		fams = scrape(t, mport)
		ok := true
		for _, w := range wants {
			if subsetValue(fams[w.family], w.labels) != w.n {
				ok = false
			}
		}
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, w := range wants {
		if v := subsetValue(fams[w.family], w.labels); v != w.n {
			t.Errorf("%s%v = %v, want %v; series: %s", w.family, w.labels, v, w.n, describe(fams[w.family]))
		}
	}
	// The bulk families carry exactly daprd's labels.
	for family, want := range map[string]int{
		"dapr_component_pubsub_egress_bulk_count":        5, // app_id component namespace success topic
		"dapr_component_pubsub_ingress_bulk_count":       5, // app_id component namespace process_status topic
		"dapr_component_pubsub_ingress_bulk_event_count": 5,
	} {
		for _, m := range fams[family].GetMetric() {
			if len(m.GetLabel()) != want {
				t.Errorf("%s: labels %v, want %d", family, m.GetLabel(), want)
			}
		}
	}
}

// subsetValue is the counter value (histogram sample count) of the series
// of f whose labels include want; -1 when there is none.
func subsetValue(f *dto.MetricFamily, want map[string]string) float64 {
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if gv, ok := got[k]; !ok || gv != v {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		if h := m.GetHistogram(); h != nil {
			return float64(h.GetSampleCount())
		}
		return m.GetCounter().GetValue()
	}
	return -1
}
