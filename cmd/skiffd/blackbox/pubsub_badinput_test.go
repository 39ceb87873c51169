package blackbox

import (
	"testing"
)

// TestPubsubBadInput: each publish route answers bad input with daprd's
// status and error code, and accepts good input afterwards.
func TestPubsubBadInput(t *testing.T) {
	s := startSidecar(t, Opts{})
	cases := []struct {
		what, method, path, body, ct string
		status                       int
		code                         string
		msg                          []string
	}{
		{"unknown pubsub", "POST", "/v1.0/publish/nope/t", "x", "", 404, "ERR_PUBSUB_NOT_FOUND", []string{"pubsub nope not found"}},
		{"missing topic", "POST", "/v1.0/publish/pubsub/", "x", "", 404, "ERR_TOPIC_EMPTY", []string{"topic is empty in pubsub pubsub"}},
		{"missing pubsub name", "POST", "/v1.0/publish//t", "x", "", 404, "ERR_PUBSUB_EMPTY", []string{"pubsub name is empty"}},
		{"broken CloudEvent", "POST", "/v1.0/publish/pubsub/t", `{"id":`, "application/cloudevents+json", 500, "ERR_PUBSUB_CLOUD_EVENTS_SER", []string{"cannot create cloudevent"}},
		{"CloudEvent that is not an object", "PUT", "/v1.0/publish/pubsub/t", `[1,2]`, "application/cloudevents+json", 500, "ERR_PUBSUB_CLOUD_EVENTS_SER", nil},
		{"bad rawPayload", "POST", "/v1.0/publish/pubsub/t?metadata.rawPayload=maybe", "x", "", 400, "ERR_PUBSUB_REQUEST_METADATA", []string{"rawPayload"}},
		{"bulk: unknown pubsub", "POST", "/v1.0/publish/bulk/nope/t", "[]", "", 404, "ERR_PUBSUB_NOT_FOUND", nil},
		{"bulk: missing topic", "POST", "/v1.0-alpha1/publish/bulk/pubsub/", "[]", "", 404, "ERR_TOPIC_EMPTY", nil},
		{"bulk: broken JSON", "POST", "/v1.0/publish/bulk/pubsub/t", `[{"entryId":`, "", 400, "ERR_PUBSUB_EVENTS_SER", []string{"error when unmarshaling the request for topic t pubsub pubsub"}},
		{"bulk: not an array", "POST", "/v1.0/publish/bulk/pubsub/t", `{"entryId":"1"}`, "", 400, "ERR_PUBSUB_EVENTS_SER", nil},
		{"bulk: missing entryId", "POST", "/v1.0/publish/bulk/pubsub/t", `[{"event":"x","contentType":"text/plain"}]`, "", 400, "ERR_PUBSUB_EVENTS_SER", []string{"entryId is duplicated or not present"}},
		{"bulk: duplicate entryId", "POST", "/v1.0/publish/bulk/pubsub/t", `[{"entryId":"1","event":"x","contentType":"text/plain"},{"entryId":"1","event":"y","contentType":"text/plain"}]`, "", 400, "ERR_PUBSUB_EVENTS_SER", nil},
		{"bulk: event does not fit its content type", "POST", "/v1.0/publish/bulk/pubsub/t", `[{"entryId":"1","event":{"a":1},"contentType":"text/plain"}]`, "", 500, "ERR_PUBSUB_CLOUD_EVENTS_SER", []string{"error when marshalling cloud event envelope for topic t pubsub pubsub"}},
		{"bulk: no content type", "POST", "/v1.0/publish/bulk/pubsub/t", `[{"entryId":"1","event":"x"}]`, "", 500, "ERR_PUBSUB_CLOUD_EVENTS_SER", nil},
		{"bulk: bad base64", "POST", "/v1.0/publish/bulk/pubsub/t", `[{"entryId":"1","event":"!!","contentType":"application/octet-stream"}]`, "", 500, "ERR_PUBSUB_CLOUD_EVENTS_SER", nil},
	}
	for _, c := range cases {
		var hdr []string
		if c.ct != "" {
			hdr = []string{"Content-Type", c.ct}
		}
		r := s.do(c.method, c.path, []byte(c.body), hdr...)
		wantAPIError(t, c.what, r, c.status, c.code, c.msg...)
	}
	r := s.do("GET", "/v1.0/publish/pubsub/t", nil)
	if r.Status == 204 || r.Status == 200 {
		t.Errorf("GET publish answered %d", r.Status)
	}
	s.publish(t, "pubsub", "t", `{"fine":true}`, "Content-Type", "application/json")
	wantStatus(t, "empty bulk", s.do("POST", "/v1.0/publish/bulk/pubsub/t", []byte(`[]`)), 204)
}
