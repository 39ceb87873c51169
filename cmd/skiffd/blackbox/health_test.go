package blackbox

import (
	"testing"
	"time"
)

// TestHealth: healthz is 500 ERR_HEALTH_NOT_READY while nothing listens on
// --app-port, 204 once the app listens; ?appid= must match.
func TestHealth(t *testing.T) {
	t.Parallel()
	appPort := freePort(t)
	s := startSidecar(t, Opts{AppID: "healthy", AppPort: appPort, NoWait: true})
	s.waitListening(10 * time.Second)

	for range 3 {
		wantAPIError(t, "app not listening", s.do("GET", "/v1.0/healthz", nil), 500, "ERR_HEALTH_NOT_READY")
		time.Sleep(50 * time.Millisecond)
	}
	// The sidecar itself can call out already.
	wantStatus(t, "outbound while the app is down", s.do("GET", "/v1.0/healthz/outbound", nil), 204)
	// And serves the API that does not need the app.
	wantStatus(t, "state while the app is down", s.do("POST", store, []byte(`[{"key":"k","value":1}]`)), 204)

	startApp(t, appPort)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := s.do("GET", "/v1.0/healthz", nil)
		if r.Status == 204 {
			if len(r.Body) != 0 {
				t.Errorf("204 with a body %q", r.Body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz still %d %q 5 s after the app started listening", r.Status, r.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantStatus(t, "?appid=healthy", s.do("GET", "/v1.0/healthz?appid=healthy", nil), 204)
	wantAPIError(t, "?appid=wrong", s.do("GET", "/v1.0/healthz?appid=wrong", nil), 500, "ERR_HEALTH_APPID_NOT_MATCH")
	wantStatus(t, "outbound", s.do("GET", "/v1.0/healthz/outbound", nil), 204)
	// Only GET.
	if r := s.do("POST", "/v1.0/healthz", nil); r.Status == 204 {
		t.Errorf("POST /v1.0/healthz answered 204")
	}
}
