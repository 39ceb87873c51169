package blackbox

import (
	"context"
	"strings"
	"testing"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// TestStateRedisDocsComponent: the component YAML from Dapr's Redis state
// store page loads unchanged; saves land in daprd's layout ({appId}||{key}
// hash with data and version) and data written that way by a plain client is
// read back with its etag.
func TestStateRedisDocsComponent(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	dir := t.TempDir()
	writeFile(t, dir, "statestore.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: `+addr+`
  - name: redisPassword
    value: ""
  - name: actorStateStore
    value: "true"
`)
	appID := conformance.UniqueName("rdocs-")
	c := redisClient(t, addr)
	t.Cleanup(func() { redisDelPrefix(c, appID+"||*") })
	s := startSidecar(t, Opts{AppID: appID, Args: []string{"--resources-path", dir}})
	ctx := context.Background()

	wantStatus(t, "save", s.do("POST", "/v1.0/state/statestore", []byte(`[{"key":"order","value":{"id":7,"item":"tea"}}]`)), 204)
	h, err := c.Do(ctx, c.B().Hgetall().Key(appID+"||order").Build()).AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	if h["data"] != `{"id":7,"item":"tea"}` || h["version"] != "1" {
		t.Fatalf("stored hash: %v", h)
	}
	r := s.do("GET", "/v1.0/state/statestore/order", nil)
	if r.Status != 200 || string(r.Body) != `{"id":7,"item":"tea"}` || r.Header.Get("ETag") != "1" {
		t.Fatalf("get: %d %q etag %q", r.Status, r.Body, r.Header.Get("ETag"))
	}

	// Written the daprd way by a plain client, read by skiffd.
	c.Do(ctx, c.B().Hset().Key(appID+"||fromdaprd").FieldValue().FieldValue("data", `"hello"`).FieldValue("version", "41").Build())
	r = s.do("GET", "/v1.0/state/statestore/fromdaprd", nil)
	if r.Status != 200 || string(r.Body) != `"hello"` || r.Header.Get("ETag") != "41" {
		t.Fatalf("get daprd-written key: %d %q etag %q", r.Status, r.Body, r.Header.Get("ETag"))
	}
	wantAPIError(t, "stale etag", s.do("POST", "/v1.0/state/statestore", []byte(`[{"key":"fromdaprd","value":1,"etag":"40"}]`)), 409, "ERR_STATE_SAVE")
	wantStatus(t, "save with etag", s.do("POST", "/v1.0/state/statestore", []byte(`[{"key":"fromdaprd","value":2,"etag":"41"}]`)), 204)
	if v, _ := c.Do(ctx, c.B().Hget().Key(appID+"||fromdaprd").Field("version").Build()).ToString(); v != "42" {
		t.Fatalf("version after save: %q", v)
	}
	wantStatus(t, "delete", s.do("DELETE", "/v1.0/state/statestore/fromdaprd", nil, "If-Match", "42"), 204)
	if n, _ := c.Do(ctx, c.B().Exists().Key(appID+"||fromdaprd").Build()).AsInt64(); n != 0 {
		t.Fatal("key still exists after delete")
	}
	// The metadata API lists the component with its features.
	m := s.do("GET", "/v1.0/metadata", nil)
	if !strings.Contains(string(m.Body), `"type":"state.redis"`) || !strings.Contains(string(m.Body), "TRANSACTIONAL") {
		t.Fatalf("metadata: %s", m.Body)
	}
}
