package pubsub

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseAppSubscriptions: any /dapr/subscribe answer parses or fails
// cleanly, and routing a parsed subscription never panics. CEL expressions
// are kept as text (cel-go fuzzes its own parser; compiling one costs
// ~100 µs, too slow for 200000 executions); unit tests compile them.
func FuzzParseAppSubscriptions(f *testing.F) {
	f.Add([]byte(`[{"pubsubname":"ps","topic":"a","route":"/a"}]`))
	f.Add([]byte(`[{"pubsubname":"ps","topic":"b","routes":{"rules":[{"match":"event.type == 'x'","path":"/x"}],"default":"/d"}}]`))
	f.Add([]byte(`[{"routes":{"rules":[{"match":"size(event.data) > 2","path":"/x"}]}}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		subs, err := parseAppSubscriptions(b, func(match, path string) (*Rule, error) {
			return &Rule{Match: match, Path: path}, nil
		})
		if err != nil {
			return
		}
		for _, s := range subs {
			_, _ = s.Route(map[string]any{"type": "x", "data": map[string]any{"n": 1.0}})
		}
	})
}

// FuzzParseBulkPublish: any bulk body is accepted with one entry per item
// or refused with a pub/sub error code.
func FuzzParseBulkPublish(f *testing.F) {
	f.Add([]byte(`[{"entryId":"1","event":{"a":1},"contentType":"application/json"}]`))
	f.Add([]byte(`[{"entryId":"2","event":"AAE=","contentType":"application/octet-stream","metadata":{"k":"v"}}]`))
	f.Add([]byte(`[{"entryId":"3","event":"x","contentType":"text/plain"},{"entryId":"3"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, fail := ParseBulkPublish(b, "t", "ps", nil)
		if fail != nil {
			if fail.Err == nil || fail.Msg == "" {
				t.Fatalf("empty failure")
			}
			return
		}
		var items []json.RawMessage
		if json.Unmarshal(b, &items) != nil || len(items) != len(entries) {
			t.Fatalf("%d entries from %s", len(entries), b)
		}
	})
}

// FuzzEnvelope: whatever the body, content type and metadata, the
// envelope is valid JSON, or the body was claimed to be a CloudEvent and is
// refused.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`{"a":1}`), "application/json", "cloudevent.id", "x")
	f.Add([]byte(`{"id":"1","data":2}`), "application/cloudevents+json", "ttlInSeconds", "10")
	f.Add([]byte("\xff\x00"), "text/plain", "cloudevent.traceparent", "\"")
	f.Add([]byte("bin"), "application/octet-stream", "", "")
	f.Fuzz(func(t *testing.T, body []byte, ct, k, v string) {
		ev := Event{Source: "app", Topic: []byte("t"), Pubsub: []byte("ps"), ContentType: []byte(ct), Data: body,
			Metadata: map[string]string{k: v}, Now: time.Unix(0, 0)}
		out, err := AppendEnvelope(nil, &ev, 0)
		if err != nil {
			if !IsCloudEventContentType(ct) {
				t.Fatalf("error for a non-CloudEvent body: %v", err)
			}
			return
		}
		// JSON data is passed through as sent, and JSON puts no bound on
		// numbers (1E700 is valid): decode with UseNumber, not float64.
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || dec.More() {
			t.Fatalf("invalid envelope %q: %v", out, err)
		}
		if m["topic"] != "t" || m["pubsubname"] != "ps" {
			t.Fatalf("topic/pubsubname lost: %s", out)
		}
		// Where the id was located, the bytes there are the event's id.
		if sp := ev.IDSpan; sp != [2]int{} && string(out[sp[0]:sp[1]]) != m["id"] {
			t.Fatalf("IDSpan %v is %q, the event's id is %v", sp, out[sp[0]:sp[1]], m["id"])
		}
	})
}

// FuzzQueryMetadata: the metadata.* query parser never panics.
func FuzzQueryMetadata(f *testing.F) {
	f.Add([]byte("metadata.rawPayload=true&x=1"))
	f.Add([]byte("metadata.%zz=1&metadata.a=%41;"))
	f.Fuzz(func(t *testing.T, q []byte) { _ = queryMetadata(q) })
}
