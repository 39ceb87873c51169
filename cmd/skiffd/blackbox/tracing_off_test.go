package blackbox

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestTracingOff: with samplingRate "0" nothing is traced (no span is
// exported, no traceparent response header) and the caller's traceparent
// reaches the app untouched, as with daprd's tracing middleware off.
func TestTracingOff(t *testing.T) {
	rc := startOTLPReceiver(t)
	var got atomic.Value
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("traceparent"))
		w.WriteHeader(200)
	})}
	go func() { _ = app.Serve(ln) }()
	t.Cleanup(func() { _ = app.Close() })
	s := startSidecar(t, Opts{AppPort: ln.Addr().(*net.TCPAddr).Port, Args: []string{"--config", tracingConfig(t, rc, "0")}})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := s.do("POST", "/v1.0/invoke/"+s.AppID+"/method/m", nil, "traceparent", tp)
	wantStatus(t, "invoke", r, 200)
	if h := r.Header.Get("traceparent"); h != "" {
		t.Errorf("response traceparent %q with tracing off", h)
	}
	if g, _ := got.Load().(string); g != tp {
		t.Errorf("the app got traceparent %q, want the caller's %q", g, tp)
	}
	wantStatus(t, "state get", s.do("GET", "/v1.0/state/statestore/k", nil, "traceparent", tp), 204)
	time.Sleep(3 * time.Second) // longer than the export batch interval: nothing may arrive
	rc.mu.Lock()
	n := len(rc.spans)
	rc.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d spans exported with tracing off", n)
	}
}
