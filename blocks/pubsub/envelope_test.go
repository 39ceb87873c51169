package pubsub

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func envelopeOf(t *testing.T, ct, body string, md map[string]string) map[string]any {
	t.Helper()
	ev := Event{Source: "app1", Topic: []byte("orders"), Pubsub: []byte("ps"), ContentType: []byte(ct), Data: []byte(body),
		TraceParent: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), Metadata: md, Now: time.Unix(1700000000, 0).UTC()}
	out, err := AppendEnvelope(nil, &ev, 0)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("envelope is not JSON: %v: %s", err, out)
	}
	// The keys come sorted, as encoding/json writes daprd's map.
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(out)))
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Errorf("keys not sorted: %v", keys)
		}
	}
	return m
}

func TestEnvelopeJSON(t *testing.T) {
	m := envelopeOf(t, "application/json; charset=utf-8", `{ "a" : [1, 2.50, "x y"] }`, nil)
	want := map[string]any{"source": "app1", "topic": "orders", "pubsubname": "ps", "specversion": "1.0",
		"type": "com.dapr.event.sent", "datacontenttype": "application/json; charset=utf-8", "tracestate": "",
		"traceid": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "time": "2023-11-14T22:13:20Z"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if m["traceparent"] != m["traceid"] {
		t.Errorf("traceparent %v != traceid %v", m["traceparent"], m["traceid"])
	}
	if d := m["data"].(map[string]any)["a"].([]any); len(d) != 3 || d[2] != "x y" {
		t.Errorf("data %v", m["data"])
	}
}

func TestEnvelopeInvalidJSONBecomesString(t *testing.T) {
	m := envelopeOf(t, "application/json", `{not json`, nil)
	if m["data"] != "{not json" {
		t.Errorf("data %v", m["data"])
	}
}

func TestEnvelopeTextAndBinary(t *testing.T) {
	if m := envelopeOf(t, "", "héllo \"q\" <b>", nil); m["data"] != "héllo \"q\" <b>" || m["datacontenttype"] != "text/plain" {
		t.Errorf("text: %v", m)
	}
	m := envelopeOf(t, "Application/Octet-Stream", "\x00\xff", nil)
	if m["data_base64"] != "AP8=" || m["data"] != nil {
		t.Errorf("binary: %v", m)
	}
}

func TestEnvelopeOverridesAndTTL(t *testing.T) {
	m := envelopeOf(t, "text/plain", "x", map[string]string{
		"cloudevent.ID": "id1", "cloudevent.source": "src", "CloudEvent.Type": "typ",
		"cloudevent.traceid": "tid", "cloudevent.tracestate": "ts", "ttlInSeconds": "60",
	})
	for k, v := range map[string]any{"id": "id1", "source": "src", "type": "typ", "traceid": "tid", "traceparent": "tid", "tracestate": "ts", "expiration": "2023-11-14T22:14:20Z"} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	m = envelopeOf(t, "text/plain", "x", map[string]string{"cloudevent.traceid": "tid", "cloudevent.traceparent": "tp"})
	if m["traceid"] != "tp" || m["traceparent"] != "tp" {
		t.Errorf("traceparent override: %v %v", m["traceid"], m["traceparent"])
	}
	for _, bad := range []string{"-1", "0", "x"} {
		if m := envelopeOf(t, "text/plain", "x", map[string]string{"ttlInSeconds": bad}); m["expiration"] != nil {
			t.Errorf("ttlInSeconds %q gave expiration %v", bad, m["expiration"])
		}
	}
}

func TestEnvelopeFromCloudEvent(t *testing.T) {
	m := envelopeOf(t, "application/cloudevents+json", `{"id":"1","data":{"z":1,"a":2},"ext":"e","source":null}`, nil)
	for k, v := range map[string]any{"id": "1", "ext": "e", "source": "Dapr", "type": "com.dapr.event.sent", "specversion": "1.0", "topic": "orders", "pubsubname": "ps"} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := m["time"]; ok {
		t.Errorf("time added to an app's CloudEvent")
	}
	for _, bad := range []string{`{"id":`, `[1]`, `null`, ``, `"s"`} {
		ev := Event{ContentType: []byte("application/cloudevents+json"), Data: []byte(bad)}
		if _, err := AppendEnvelope(nil, &ev, 0); err == nil {
			t.Errorf("CloudEvent %q accepted", bad)
		}
	}
}

func TestTraceParent(t *testing.T) {
	in := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	out := string(AppendTraceParent(nil, []byte(in)))
	if len(out) != 55 || out[:36] != in[:36] || out[52:] != "-01" || out[36:52] == in[36:52] {
		t.Errorf("child of %s: %s", in, out)
	}
	for _, bad := range []string{"", "garbage", "00-00000000000000000000000000000000-b7ad6b7169203331-01"} {
		out := AppendTraceParent(nil, []byte(bad))
		if !validTraceParent(out) {
			t.Errorf("new traceparent %s is not valid", out)
		}
	}
}

func TestEnvelopeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	ev := Event{Source: "app1", Topic: []byte("orders"), Pubsub: []byte("ps"), ContentType: []byte("application/json"),
		Data: []byte(`{"orderId":42,"item":"book"}`), Now: time.Now()}
	buf := make([]byte, 0, 1024)
	n := testing.AllocsPerRun(200, func() {
		var err error
		buf, err = AppendEnvelope(buf[:0], &ev, 0)
		if err != nil {
			t.Fatal(err)
		}
	})
	if n > 0 {
		t.Errorf("AppendEnvelope allocates %v times per event", n)
	}
}

func BenchmarkEnvelope(b *testing.B) {
	ev := Event{Source: "app1", Topic: []byte("orders"), Pubsub: []byte("ps"), ContentType: []byte("application/json"),
		Data: []byte(`{"orderId":42,"item":"book"}`), Now: time.Now()}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendEnvelope(buf[:0], &ev, 0)
	}
}

// IDSpan locates the id in the envelope, for brokers that need it
// (JetStream's Nats-Msg-Id), when the block wrote it plainly.
func TestEnvelopeIDSpan(t *testing.T) {
	for _, c := range []struct {
		ct, body string
		md       map[string]string
		want     string // "": no span; "*": a generated id
	}{
		{"application/json", `{"a":1}`, nil, "*"},
		{"text/plain", "hi", map[string]string{"cloudevent.id": "my-id"}, "my-id"},
		{"text/plain", "hi", map[string]string{"cloudevent.id": `a"b`}, ""},
		{"application/cloudevents+json", `{"id":"in","specversion":"1.0","source":"s","type":"t"}`, nil, ""},
	} {
		ev := Event{Source: "app1", Topic: []byte("orders"), Pubsub: []byte("ps"), ContentType: []byte(c.ct), Data: []byte(c.body), Metadata: c.md, Now: time.Unix(0, 0)}
		out, err := AppendEnvelope([]byte("prefix"), &ev, 0)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out[len("prefix"):], &m); err != nil {
			t.Fatal(err)
		}
		sp := ev.IDSpan
		switch c.want {
		case "":
			if sp != [2]int{} {
				t.Errorf("%s %q: span %v, want none", c.ct, c.body, sp)
			}
		default:
			if sp == [2]int{} || string(out[sp[0]:sp[1]]) != m["id"] || (c.want != "*" && m["id"] != c.want) {
				t.Errorf("%s %q: span %v (%q), id %v", c.ct, c.body, sp, out[sp[0]:sp[1]], m["id"])
			}
		}
	}
}
