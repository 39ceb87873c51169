package blackbox

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// A circuit breaker opens after the trip expression holds, refuses calls
// without reaching the app, half-opens after its timeout and closes after a
// successful probe.
func TestResiliencyBreakerOpensHalfOpensCloses(t *testing.T) {
	var healthy atomic.Bool
	app := startFlakyApp(t, func(path string, n int, w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(500)
			return
		}
		_, _ = w.Write([]byte("fine"))
	})
	dir := resiliencyDir(t, map[string]string{"resiliency.yaml": `
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: breaker
spec:
  policies:
    circuitBreakers:
      cb:
        maxRequests: 1
        timeout: 2s
        trip: consecutiveFailures >= 3
  targets:
    apps:
      resilbreaker:
        circuitBreaker: cb
`})
	s := startSidecar(t, Opts{AppID: "resilbreaker", AppPort: app.Port, Args: []string{"--resources-path", dir}})
	const path = "/v1.0/invoke/resilbreaker/method/op"

	for i := range 3 {
		wantStatus(t, "failing call", s.do("POST", path, []byte("x")), 500)
		if n := app.Hits("/op"); n != i+1 {
			t.Fatalf("call %d: app saw %d", i+1, n)
		}
	}
	opened := time.Now()
	// Open: refused without reaching the app.
	r := s.do("POST", path, []byte("x"))
	wantAPIError(t, "open", r, 500, "ERR_DIRECT_INVOKE", "failed to invoke, id: resilbreaker, err: circuit breaker is open")
	if n := app.Hits("/op"); n != 3 {
		t.Fatalf("open breaker let a call through: app saw %d", n)
	}
	// Another method has its own breaker (daprd: one per app:method).
	wantStatus(t, "other method", s.do("GET", "/v1.0/invoke/resilbreaker/method/other", nil), 500)

	// Half-open after the 2 s timeout: the app, healthy again, gets the probe.
	healthy.Store(true)
	var reached time.Time
	resilWaitFor(t, 20*time.Second, "half-open probe", func() bool {
		r := s.do("POST", path, []byte("x"))
		if r.Status == 200 {
			reached = time.Now()
			return true
		}
		wantAPIError(t, "still open", r, 500, "ERR_DIRECT_INVOKE", "circuit breaker is open")
		return false
	})
	if reached.Sub(opened) < 2*time.Second-100*time.Millisecond {
		t.Fatalf("probe let through %v after opening; the breaker's timeout is 2s", reached.Sub(opened))
	}
	if n := app.Hits("/op"); n != 4 {
		t.Fatalf("app saw %d calls, want 3 failures + 1 probe", n)
	}
	// Closed again: calls flow.
	for range 3 {
		wantStatus(t, "closed", s.do("POST", path, []byte("x")), 200)
	}
	if n := app.Hits("/op"); n != 7 {
		t.Fatalf("app saw %d calls after closing, want 7", n)
	}
}
