package blackbox

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStateRedisDownAtStartup: with Redis not listening, skiffd starts
// anyway (no crash loop), healthz answers 500 ERR_HEALTH_NOT_READY naming
// the component, state calls get the block's 500; once Redis comes up,
// skiffd connects by itself and serves.
func TestStateRedisDownAtStartup(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	dir := t.TempDir()
	writeFile(t, dir, "redis.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: cache
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: 127.0.0.1:`+strconv.Itoa(port)+`
`)
	s := startSidecar(t, Opts{Args: []string{"--resources-path", dir}, NoWait: true})
	s.waitListening(10 * time.Second)
	var last Resp
	pollUntil(t, 10*time.Second, "healthz naming the component", func() bool {
		last = s.do("GET", "/v1.0/healthz", nil)
		return last.Status == 500 && strings.Contains(string(last.Body), "cache")
	})
	wantAPIError(t, "healthz", last, 500, "ERR_HEALTH_NOT_READY", "state store cache is not ready")
	wantAPIError(t, "get while down", s.do("GET", "/v1.0/state/cache/k", nil), 500, "ERR_STATE_GET", "not ready")
	wantAPIError(t, "save while down", s.do("POST", "/v1.0/state/cache", []byte(`[{"key":"k","value":1}]`)), 500, "ERR_STATE_SAVE")
	if s.Exited() {
		t.Fatal("skiffd exited")
	}

	privateRedis(t, port)
	pollUntil(t, 30*time.Second, "healthz 204 after Redis started", func() bool {
		return s.do("GET", "/v1.0/healthz", nil).Status == 204
	})
	wantStatus(t, "save", s.do("POST", "/v1.0/state/cache", []byte(`[{"key":"k","value":1}]`)), 204)
	if r := s.do("GET", "/v1.0/state/cache/k", nil); r.Status != 200 || string(r.Body) != "1" {
		t.Fatalf("get: %d %q", r.Status, r.Body)
	}
}
