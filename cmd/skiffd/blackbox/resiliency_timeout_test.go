package blackbox

import (
	"net/http"
	"testing"
	"time"
)

// A timeout policy cuts a slow call short with daprd's error, and with a
// retry policy each attempt gets the timeout.
func TestResiliencyTimeoutFires(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	app := startFlakyApp(t, func(path string, n int, w http.ResponseWriter, r *http.Request) {
		if path == "/slow" || (path == "/slowonce" && n == 1) {
			select {
			case <-release:
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
			return
		}
		_, _ = w.Write([]byte("fast"))
	})
	dir := resiliencyDir(t, map[string]string{"resiliency.yaml": `
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: timeouts
spec:
  policies:
    timeouts:
      short: 300ms
    retries:
      once:
        policy: constant
        duration: 10ms
        maxRetries: 1
  targets:
    apps:
      resiltimeout:
        timeout: short
        retry: once
`})
	s := startSidecar(t, Opts{AppID: "resiltimeout", AppPort: app.Port, Args: []string{"--resources-path", dir}})

	start := time.Now()
	r := s.do("GET", "/v1.0/invoke/resiltimeout/method/slow", nil)
	took := time.Since(start)
	wantAPIError(t, "slow", r, 500, "ERR_DIRECT_INVOKE", "failed to invoke, id: resiltimeout, err: context deadline exceeded")
	if n := app.Hits("/slow"); n != 2 {
		t.Fatalf("slow: %d attempts, want 2 (each timed out)", n)
	}
	if took < 600*time.Millisecond || took > 15*time.Second {
		t.Fatalf("slow: answered after %v; two 300ms timeouts expected", took)
	}

	// The first attempt times out, the retry answers.
	r = s.do("GET", "/v1.0/invoke/resiltimeout/method/slowonce", nil)
	wantStatus(t, "slowonce", r, 200)
	if string(r.Body) != "fast" || app.Hits("/slowonce") != 2 {
		t.Fatalf("slowonce: body %q after %d attempts", r.Body, app.Hits("/slowonce"))
	}
	// The sidecar is still fine.
	wantStatus(t, "healthz", s.do("GET", "/v1.0/healthz", nil), 204)
}
