package blackbox

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBindingsCron: bindings.cron fires at the app. The app is asked with
// OPTIONS /{name} first; a 2xx or a 405 means it takes the binding, and
// each firing is a POST /{route} with the binding's metadata as headers.
// A binding whose OPTIONS gets a 404 is never delivered. A non-2xx answer
// to an event is an error for the binding, and firing goes on.
func TestBindingsCron(t *testing.T) {
	t.Parallel()
	var fails atomic.Int32
	app := startBindingsApp(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/ticker" && r.Method == "OPTIONS":
			w.WriteHeader(405) // a Go 1.22 mux with "POST /ticker" answers this
		case r.URL.Path == "/ticker", r.URL.Path == "/sixfield", r.URL.Path == "/routed/here":
			if r.URL.Path == "/sixfield" && r.Method == "POST" && fails.Add(1) == 1 {
				w.WriteHeader(500)
				return
			}
			w.WriteHeader(200)
		default:
			w.WriteHeader(404)
		}
	})
	dir := t.TempDir()
	writeFile(t, dir, "cron.yaml", bindingYAML("ticker", "bindings.cron", "schedule", "@every 1s")+"---\n"+
		bindingYAML("sixfield", "bindings.cron", "schedule", "*/1 * * * * *")+"---\n"+
		bindingYAML("routed", "bindings.cron", "schedule", "@every 1s", "route", "/routed/here")+"---\n"+
		bindingYAML("unwanted", "bindings.cron", "schedule", "@every 1s"))
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--resources-path", dir}})

	evs := app.waitEvents(t, "POST", "/ticker", 2, 20*time.Second)
	e := evs[0]
	if ct := e.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if e.Header.Get("timeZone") == "" || !strings.HasSuffix(e.Header.Get("readTimeUTC"), "UTC") {
		t.Errorf("metadata headers missing: %v", e.Header)
	}
	if len(e.Body) != 0 {
		t.Errorf("cron event body %q", e.Body)
	}
	app.waitEvents(t, "POST", "/sixfield", 3, 20*time.Second) // the failed one, then more
	app.waitEvents(t, "POST", "/routed/here", 1, 20*time.Second)
	if n := len(app.events("OPTIONS", "/unwanted")); n != 1 {
		t.Errorf("OPTIONS /unwanted %d times, want 1", n)
	}
	if n := len(app.events("POST", "/unwanted")); n != 0 {
		t.Errorf("POST /unwanted %d times: the app answered 404 to OPTIONS", n)
	}
	// cron is input only: there is no output binding by that name.
	wantAPIError(t, "cron as output", s.do("POST", "/v1.0/bindings/ticker", []byte(`{"operation":"create"}`)), 500,
		"ERR_INVOKE_OUTPUT_BINDING", "error invoking output binding ticker: couldn't find output binding ticker")
}

// TestBindingsCronBadSchedule: a schedule robfig/cron refuses stops startup
// naming the file.
func TestBindingsCronBadSchedule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "cron.yaml", bindingYAML("bad", "bindings.cron", "schedule", "every minute"))
	stderr := startFailing(t, "--resources-path", dir)
	if !strings.Contains(stderr, "cron.yaml:") || !strings.Contains(stderr, "invalid schedule format 'every minute'") {
		t.Errorf("stderr:\n%s", tail(stderr, 2000))
	}
}
