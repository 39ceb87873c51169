package blackbox

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestAppHealthBindings: input binding events stop reaching the app while
// its health check fails and flow again once it recovers.
func TestAppHealthBindings(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	app := startBindingsApp(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/healthz":
			if healthy.Load() {
				w.WriteHeader(200)
			} else {
				w.WriteHeader(500)
			}
		case r.URL.Path == "/ticker" && r.Method == "OPTIONS":
			w.WriteHeader(405)
		default:
			w.WriteHeader(200)
		}
	})
	dir := t.TempDir()
	writeFile(t, dir, "cron.yaml", bindingYAML("ticker", "bindings.cron", "schedule", "@every 1s"))
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--resources-path", dir,
		"--enable-app-health-check", "--app-health-probe-interval", "1", "--app-health-threshold", "1"}})
	app.waitEvents(t, "POST", "/ticker", 2, 20*time.Second)

	healthy.Store(false)
	s.waitAppHealth(t, "UNHEALTHY")
	paused := len(app.events("POST", "/ticker"))
	time.Sleep(3 * time.Second) // three firings' worth
	// One event may have passed the gate just before the status changed.
	if n := len(app.events("POST", "/ticker")); n > paused+1 {
		t.Fatalf("%d events reached the unhealthy app (had %d)", n-paused, paused)
	}
	wantAPIError(t, "invoke while unhealthy", s.do("GET", "/v1.0/invoke/"+s.AppID+"/method/x", nil), 500, "ERR_DIRECT_INVOKE", "app is not in a healthy state")

	healthy.Store(true)
	s.waitAppHealth(t, "HEALTHY")
	app.waitEvents(t, "POST", "/ticker", paused+3, 20*time.Second)
}
