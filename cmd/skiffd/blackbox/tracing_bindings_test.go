package blackbox

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTracingBindings: with tracing on, an output binding call is the API
// span daprd makes (db.system bindings) and the binding gets that span as
// its traceparent (bindings.http sends it to its target); an input binding
// event gets daprd's "bindings/<name>" span, whose traceparent the app
// receives.
func TestTracingBindings(t *testing.T) {
	rc := startOTLPReceiver(t)
	var mu sync.Mutex
	seen := map[string]string{} // path -> traceparent it got
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			mu.Lock()
			if _, ok := seen[r.URL.Path]; !ok {
				seen[r.URL.Path] = r.Header.Get("traceparent")
			}
			mu.Unlock()
		}
		w.WriteHeader(200)
	})}
	go func() { _ = app.Serve(ln) }()
	t.Cleanup(func() { _ = app.Close() })
	appPort := ln.Addr().(*net.TCPAddr).Port

	dir := t.TempDir()
	writeFile(t, dir, "bindings.yaml", bindingYAML("ticker", "bindings.cron", "schedule", "@every 1s")+"---\n"+
		bindingYAML("web", "bindings.http", "url", "http://127.0.0.1:"+strconv.Itoa(appPort)+"/target"))
	s := startSidecar(t, Opts{AppPort: appPort, Args: []string{"--resources-path", dir, "--config", tracingConfig(t, rc, "1")}})

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := s.do("POST", "/v1.0/bindings/web", []byte(`{"operation":"post","data":{"a":1}}`), "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	wantStatus(t, "output binding", r, 200)
	out := rc.waitSpan(t, "/v1.0/bindings/web")
	if out.TraceID != traceID || out.Parent != "00f067aa0ba902b7" || out.Kind != 3 {
		t.Errorf("output binding span %+v", out)
	}
	for k, v := range map[string]string{"db.system": "bindings", "db.name": "web", "db.connection_string": "bindings",
		"dapr.api": "POST /v1.0/bindings/web", "dapr.status_code": "200"} {
		if out.Attrs[k] != v {
			t.Errorf("output binding span attribute %s = %q, want %q", k, out.Attrs[k], v)
		}
	}
	mu.Lock()
	targetTP := seen["/target"]
	mu.Unlock()
	if want := "00-" + traceID + "-" + out.SpanID + "-01"; targetTP != want {
		t.Errorf("the binding's target got traceparent %q, want the API span %q", targetTP, want)
	}

	in := rc.waitSpan(t, "bindings/ticker")
	if in.Kind != 3 || in.Parent != "" {
		t.Errorf("input binding span %+v: want kind client, a new trace", in)
	}
	for k, v := range map[string]string{"db.system": "bindings", "db.name": "ticker", "rpc.service": "Dapr", "db.connection_string": "POST /ticker"} {
		if in.Attrs[k] != v {
			t.Errorf("input binding span attribute %s = %q, want %q", k, in.Attrs[k], v)
		}
	}
	mu.Lock()
	tickerTP := seen["/ticker"]
	mu.Unlock()
	if !strings.Contains(tickerTP, in.TraceID) {
		t.Errorf("the app got traceparent %q for the event, want the trace of span %+v", tickerTP, in)
	}
}
