package blackbox

import (
	"testing"
	"time"
)

// TestShutdownAPI: POST /v1.0/shutdown answers 204 and the process exits 0.
func TestShutdownAPI(t *testing.T) {
	t.Parallel()
	s := startSidecar(t, Opts{AppID: "shutapi"})
	wantStatus(t, "GET shutdown is not the route", s.do("GET", "/v1.0/shutdown", nil), 404)
	if s.Exited() {
		t.Fatal("GET /v1.0/shutdown stopped skiffd")
	}
	wantStatus(t, "shutdown", s.do("POST", "/v1.0/shutdown", nil), 204)
	s.Client.CloseIdleConnections()
	code, ok := s.WaitExit(7 * time.Second)
	if !ok {
		t.Fatalf("skiffd still runs 7 s after POST /v1.0/shutdown; stderr:\n%s", tail(s.Stderr(), 3000))
	}
	s.MarkStopped()
	if code != 0 {
		t.Errorf("exit code %d after POST /v1.0/shutdown; stderr:\n%s", code, tail(s.Stderr(), 3000))
	}
}

// TestShutdownSIGTERMInFlight: SIGTERM while an invocation waits on a slow
// app: the request completes, then skiffd exits 0.
func TestShutdownSIGTERMInFlight(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "shutsig", AppPort: app.Port})
	type result struct {
		r   Resp
		err error
	}
	res := make(chan result, 1)
	go func() {
		r, err := s.try("GET", "/v1.0/invoke/shutsig/method/slow/1500", nil)
		res <- result{r, err}
	}()
	time.Sleep(300 * time.Millisecond) // the request is at the app
	start := time.Now()
	s.Terminate()
	got := <-res
	if got.err != nil {
		t.Fatalf("in-flight invocation failed on SIGTERM: %v", got.err)
	}
	if got.r.Status != 200 || string(got.r.Body) != "slept 1500" {
		t.Errorf("in-flight invocation: %d %q, want 200 \"slept 1500\"", got.r.Status, got.r.Body)
	}
	s.Client.CloseIdleConnections()
	code, ok := s.WaitExit(7 * time.Second)
	if !ok {
		t.Fatalf("skiffd still runs 7 s after SIGTERM; stderr:\n%s", tail(s.Stderr(), 3000))
	}
	s.MarkStopped()
	if code != 0 {
		t.Errorf("exit code %d; stderr:\n%s", code, tail(s.Stderr(), 3000))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("exit took %v after SIGTERM with one 1.2 s request in flight", d)
	}
}
