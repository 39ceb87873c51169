package blackbox

import (
	"testing"
)

// TestPubsubScopes: publishingScopes, allowedTopics and protectedTopics
// answer 403 ERR_PUBSUB_FORBIDDEN as daprd; subscriptionScopes leave a
// subscription out; component scopes hide the component (404).
func TestPubsubScopes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ps.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: scoped
spec:
  type: pubsub.in-memory
  version: v1
  metadata:
  - name: publishingScopes
    value: "scopeapp=a,b;other=c"
  - name: subscriptionScopes
    value: "scopeapp=a"
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: allowed
spec:
  type: pubsub.in-memory
  version: v1
  metadata:
  - name: allowedTopics
    value: "x, y"
  - name: protectedTopics
    value: "y"
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: hidden
spec:
  type: pubsub.in-memory
  version: v1
scopes:
- someone-else
`)
	app := startSubApp(t, 0, `[{"pubsubname":"scoped","topic":"a","route":"/a"},{"pubsubname":"scoped","topic":"b","route":"/b"},
		{"pubsubname":"allowed","topic":"x","route":"/x"}]`, nil)
	s := startSidecar(t, Opts{AppID: "scopeapp", AppPort: app.Port, Args: []string{"--resources-path", dir}})
	subs := s.waitSubscribed(t, 2)
	for _, sub := range subs {
		if sub["topic"] == "b" {
			t.Errorf("subscriptionScopes did not leave out topic b: %v", sub)
		}
	}

	s.publish(t, "scoped", "a", "to a")
	s.publish(t, "scoped", "b", "to b (published, not subscribed)")
	r := s.do("POST", "/v1.0/publish/scoped/c", []byte("x"))
	wantAPIError(t, "publish outside publishingScopes", r, 403, "ERR_PUBSUB_FORBIDDEN", "topic c is not allowed for app id scopeapp")

	s.publish(t, "allowed", "x", "ok")
	r = s.do("POST", "/v1.0/publish/allowed/z", []byte("x"))
	wantAPIError(t, "publish outside allowedTopics", r, 403, "ERR_PUBSUB_FORBIDDEN", "topic z is not allowed")
	r = s.do("POST", "/v1.0/publish/allowed/y", []byte("x"))
	wantAPIError(t, "publish to a protected topic", r, 403, "ERR_PUBSUB_FORBIDDEN")
	r = s.do("POST", "/v1.0/publish/bulk/allowed/z", []byte(`[{"entryId":"1","event":"x","contentType":"text/plain"}]`))
	wantAPIError(t, "bulk publish outside allowedTopics", r, 403, "ERR_PUBSUB_FORBIDDEN")

	r = s.do("POST", "/v1.0/publish/hidden/t", []byte("x"))
	wantAPIError(t, "component scoped to another app", r, 404, "ERR_PUBSUB_NOT_FOUND", "pubsub hidden not found")

	app.waitFor("/a", 1)
	app.waitFor("/x", 1)
	if n := len(app.settle("/b", 200e6)); n != 0 {
		t.Errorf("topic b delivered %d times despite subscriptionScopes", n)
	}
}
