package blackbox

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPubsubCloudEvent: the envelope delivered to the app has daprd's
// fields for JSON, text, binary and CloudEvent bodies, rawPayload, the
// cloudevent.* overrides, ttlInSeconds and the caller's trace context.
func TestPubsubCloudEvent(t *testing.T) {
	app := startSubApp(t, 0, `[{"pubsubname":"pubsub","topic":"ce","route":"/ce"},
		{"pubsubname":"pubsub","topic":"raw","route":"raw","metadata":{"rawPayload":"true"}}]`, nil)
	s := startSidecar(t, Opts{AppID: "ceapp", AppPort: app.Port})
	s.waitSubscribed(t, 2)

	tp := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	s.publish(t, "pubsub", "ce", `{"order": 1, "items":["a","b"]}`, "Content-Type", "application/json", "traceparent", tp, "tracestate", "k=v")
	s.publish(t, "pubsub", "ce", `plain text`, "Content-Type", "text/plain")
	s.publish(t, "pubsub", "ce", "\x00\x01bin", "Content-Type", "application/octet-stream")
	s.publish(t, "pubsub", "ce", `{"id":"my-id","source":"mysrc","type":"my.type","specversion":"1.0","data":{"x":1},"datacontenttype":"application/json","custom":"kept"}`, "Content-Type", "application/cloudevents+json")
	s.publish(t, "pubsub", "ce?metadata.cloudevent.id=fixed-id&metadata.cloudevent.type=t.x&metadata.cloudevent.source=s.x&metadata.ttlInSeconds=600", `{"a":1}`, "Content-Type", "application/json")
	s.publish(t, "pubsub", "ce", `no content type`)
	s.publish(t, "pubsub", "raw?metadata.rawPayload=true", `{"not":"a cloudevent"}`, "Content-Type", "application/json")

	got := app.waitFor("/ce", 6)
	for _, d := range got {
		if d.ContentType != "application/cloudevents+json" {
			t.Errorf("delivery Content-Type %q", d.ContentType)
		}
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	e := got[0].Event
	want := map[string]any{"source": "ceapp", "type": "com.dapr.event.sent", "specversion": "1.0", "datacontenttype": "application/json",
		"topic": "ce", "pubsubname": "pubsub", "tracestate": "k=v"}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("json event %s = %v, want %v", k, e[k], v)
		}
	}
	if id, _ := e["id"].(string); !uuidRE.MatchString(id) {
		t.Errorf("id %q is not a UUID", e["id"])
	}
	if tid, _ := e["traceid"].(string); !strings.HasPrefix(tid, tp[:36]) || e["traceparent"] != tid {
		t.Errorf("traceid %v / traceparent %v do not continue the caller's trace %s", e["traceid"], e["traceparent"], tp)
	} else if got[0].TraceParent != tid {
		t.Errorf("delivery traceparent header %q, want the event's %q", got[0].TraceParent, tid)
	}
	if ts, _ := e["time"].(string); ts == "" {
		t.Errorf("no time attribute")
	} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("time %q: %v", ts, err)
	}
	if d, ok := e["data"].(map[string]any); !ok || d["order"] != float64(1) {
		t.Errorf("json data %v", e["data"])
	}
	if !strings.Contains(string(got[0].Body), `"data":{"order":1,"items":["a","b"]}`) {
		t.Errorf("json data not embedded as JSON: %s", got[0].Body)
	}
	if e := got[1].Event; e["data"] != "plain text" || e["datacontenttype"] != "text/plain" {
		t.Errorf("text event: %s", got[1].Body)
	}
	if e := got[2].Event; e["data_base64"] != base64.StdEncoding.EncodeToString([]byte("\x00\x01bin")) || e["data"] != nil {
		t.Errorf("binary event: %s", got[2].Body)
	}
	e = got[3].Event
	for k, v := range map[string]any{"id": "my-id", "source": "mysrc", "type": "my.type", "custom": "kept", "topic": "ce", "pubsubname": "pubsub"} {
		if e[k] != v {
			t.Errorf("cloudevent input: %s = %v, want %v (%s)", k, e[k], v, got[3].Body)
		}
	}
	if _, ok := e["time"]; ok {
		t.Errorf("a CloudEvent input gets no time attribute in daprd: %s", got[3].Body)
	}
	e = got[4].Event
	for k, v := range map[string]any{"id": "fixed-id", "type": "t.x", "source": "s.x"} {
		if e[k] != v {
			t.Errorf("override %s = %v, want %v", k, e[k], v)
		}
	}
	if exp, _ := e["expiration"].(string); exp == "" {
		t.Errorf("ttlInSeconds gave no expiration: %s", got[4].Body)
	} else if et, err := time.Parse(time.RFC3339, exp); err != nil || time.Until(et) < 500*time.Second {
		t.Errorf("expiration %q: %v", exp, err)
	}
	if e := got[5].Event; e["datacontenttype"] != "text/plain" || e["data"] != "no content type" {
		t.Errorf("no content type: %s", got[5].Body)
	}

	// rawPayload on both sides: the subscriber gets daprd's FromRawPayload
	// wrapping, data_base64 of the bytes as published.
	raw := app.waitFor("/raw", 1)[0]
	if raw.Event["data_base64"] != base64.StdEncoding.EncodeToString([]byte(`{"not":"a cloudevent"}`)) ||
		raw.Event["datacontenttype"] != "application/octet-stream" || raw.Event["topic"] != "raw" {
		t.Errorf("raw payload delivery: %s", raw.Body)
	}
}
