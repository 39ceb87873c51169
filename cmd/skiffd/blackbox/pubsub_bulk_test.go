package blackbox

import (
	"encoding/json"
	"testing"
)

// TestPubsubBulk: bulk publish on both route versions delivers every
// entry; failed entries are listed as daprd does (500, failedEntries,
// metadata.* headers); a bulkSubscribe subscription gets daprd's bulk
// envelope and its per-entry statuses decide each message.
func TestPubsubBulk(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ps.yaml", `apiVersion: dapr.io/v1alpha1
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
	retried := map[string]bool{}
	app := startSubApp(t, 0, `[{"pubsubname":"pubsub","topic":"single","route":"/single"},
		{"pubsubname":"tiny","topic":"t","route":"/stuck"},
		{"pubsubname":"pubsub","topic":"many","route":"/many","bulkSubscribe":{"enabled":true,"maxMessagesCount":10,"maxAwaitDurationMs":200}}]`,
		func(path string, ev map[string]any, n int) (int, string) {
			switch path {
			case "/stuck":
				return 500, ""
			case "/many":
			default:
				return 200, ""
			}
			// Answer SUCCESS for every entry, except RETRY once for the
			// entry whose data is "again".
			var st []map[string]string
			for _, e := range ev["entries"].([]any) {
				e := e.(map[string]any)
				status := "SUCCESS"
				if e["event"].(map[string]any)["data"] == "again" && !retried["again"] {
					retried["again"] = true
					status = "RETRY"
				}
				st = append(st, map[string]string{"entryId": e["entryId"].(string), "status": status})
			}
			b, _ := json.Marshal(map[string]any{"statuses": st})
			return 200, string(b)
		})
	s := startSidecar(t, Opts{AppID: "bulkapp", AppPort: app.Port, Args: []string{"--resources-path", dir}})
	s.waitSubscribed(t, 3)

	for _, p := range []string{"/v1.0/publish/bulk/pubsub/single", "/v1.0-alpha1/publish/bulk/pubsub/single"} {
		r := s.do("POST", p, []byte(`[{"entryId":"1","event":{"n":1},"contentType":"application/json"},
			{"entryId":"2","event":"text","contentType":"text/plain"},
			{"entryId":"3","event":"AAE=","contentType":"application/octet-stream","metadata":{"cloudevent.type":"bin.t"}}]`))
		wantStatus(t, p, r, 204)
	}
	got := app.waitFor("/single", 6)
	if e := got[0].Event; e["data"].(map[string]any)["n"] != float64(1) || e["source"] != "bulkapp" || e["topic"] != "single" {
		t.Errorf("bulk entry 1: %s", got[0].Body)
	}
	if e := got[1].Event; e["data"] != "text" || e["datacontenttype"] != "text/plain" {
		t.Errorf("bulk entry 2: %s", got[1].Body)
	}
	if e := got[2].Event; e["data_base64"] != "AAE=" || e["type"] != "bin.t" {
		t.Errorf("bulk entry 3: %s", got[2].Body)
	}

	// tiny holds two messages and its subscriber always fails: the third
	// entry finds the queue full.
	r := s.do("POST", "/v1.0/publish/bulk/tiny/t", []byte(`[{"entryId":"a","event":"1","contentType":"text/plain"},
		{"entryId":"b","event":"2","contentType":"text/plain"},{"entryId":"c","event":"3","contentType":"text/plain"}]`))
	var res struct {
		FailedEntries []struct{ EntryID, Error string } `json:"failedEntries"`
		ErrorCode     string                            `json:"errorCode"`
	}
	if r.Status != 500 || json.Unmarshal(r.Body, &res) != nil || len(res.FailedEntries) != 1 ||
		res.FailedEntries[0].EntryID != "c" || res.FailedEntries[0].Error == "" || res.ErrorCode != "ERR_PUBSUB_PUBLISH_MESSAGE" {
		t.Errorf("partial bulk failure: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("metadata.responseData") == "" {
		t.Errorf("no metadata.responseData header")
	}

	// Bulk subscribe.
	r = s.do("POST", "/v1.0-alpha1/publish/bulk/pubsub/many", []byte(`[{"entryId":"1","event":"x","contentType":"text/plain"},
		{"entryId":"2","event":"again","contentType":"text/plain"},{"entryId":"3","event":"y","contentType":"text/plain"}]`))
	wantStatus(t, "bulk publish to many", r, 204)
	seen := map[string]int{}
	deadline := 0
	for len(seen) < 3 || seen["again"] < 2 {
		deadline++
		got := app.waitFor("/many", deadline)
		clear(seen)
		for _, d := range got {
			if d.ContentType != "application/json" {
				t.Errorf("bulk delivery Content-Type %q", d.ContentType)
			}
			if d.Event["topic"] != "many" || d.Event["pubsubname"] != "pubsub" || d.Event["type"] != "com.dapr.event.sent" || d.Event["id"] == "" {
				t.Errorf("bulk envelope: %s", d.Body)
			}
			for _, e := range d.Event["entries"].([]any) {
				e := e.(map[string]any)
				if e["contentType"] != "application/cloudevents+json" {
					t.Errorf("bulk entry contentType %v", e["contentType"])
				}
				seen[e["event"].(map[string]any)["data"].(string)]++
			}
		}
	}
	if seen["x"] != 1 || seen["y"] != 1 {
		t.Errorf("bulk subscribe deliveries %v: SUCCESS entries were redelivered", seen)
	}
}
