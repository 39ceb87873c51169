package blackbox

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTracingChain: with samplingRate 1 and an OTLP/HTTP exporter, a call
// invoke → app → publish → delivery gives daprd's spans, each the parent of
// the next, and the app sees each span as its caller.
func TestTracingChain(t *testing.T) {
	rc := startOTLPReceiver(t)
	var sidecarURL atomic.Value
	var mu sync.Mutex
	seen := map[string]string{} // app path -> traceparent it got
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dapr/subscribe":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `[{"pubsubname":"pubsub","topic":"orders","route":"/orders"}]`)
			return
		case "/work":
			// The app publishes under the context it was called with.
			tp := r.Header.Get("traceparent")
			req, _ := http.NewRequest("POST", sidecarURL.Load().(string)+"/v1.0/publish/pubsub/orders", bytes.NewReader([]byte(`{"n":1}`)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("traceparent", tp)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 204 {
				w.WriteHeader(500)
				return
			}
			resp.Body.Close()
		}
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("traceparent")
		mu.Unlock()
		w.WriteHeader(200)
	})}
	go func() { _ = app.Serve(ln) }()
	t.Cleanup(func() { _ = app.Close() })
	appPort := ln.Addr().(*net.TCPAddr).Port

	s := startSidecar(t, Opts{AppPort: appPort, Args: []string{"--config", tracingConfig(t, rc, "1")}})
	sidecarURL.Store(s.URL)
	s.waitSubscribed(t, 1)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const callerSpan = "00f067aa0ba902b7"
	r := s.do("POST", "/v1.0/invoke/"+s.AppID+"/method/work", []byte("x"), "traceparent", "00-"+traceID+"-"+callerSpan+"-01")
	wantStatus(t, "invoke", r, 200)
	respTP := r.Header.Get("traceparent")

	invoke := rc.waitSpan(t, "CallLocal/"+s.AppID+"/work")
	publish := rc.waitSpan(t, "/v1.0/publish/pubsub/orders")
	deliver := rc.waitSpan(t, "pubsub/orders")
	mu.Lock()
	workTP, ordersTP := seen["/work"], seen["/orders"]
	mu.Unlock()

	if invoke.TraceID != traceID || invoke.Parent != callerSpan {
		t.Errorf("invoke span %+v: not a child of the caller's span", invoke)
	}
	if invoke.Kind != 3 { // SPAN_KIND_CLIENT, as daprd
		t.Errorf("invoke span kind %d", invoke.Kind)
	}
	for k, v := range map[string]string{"rpc.service": "ServiceInvocation", "net.peer.name": s.AppID, "dapr.protocol": "http",
		"dapr.api": "POST /v1.0/invoke/" + s.AppID + "/method/work", "dapr.status_code": "200"} {
		if invoke.Attrs[k] != v {
			t.Errorf("invoke span attribute %s = %q, want %q", k, invoke.Attrs[k], v)
		}
	}
	if want := "00-" + traceID + "-" + invoke.SpanID + "-01"; workTP != want || respTP != want {
		t.Errorf("the app got traceparent %q and the caller %q, want %q", workTP, respTP, want)
	}
	if publish.TraceID != traceID || publish.Parent != invoke.SpanID {
		t.Errorf("publish span %+v: not a child of the invoke span %s", publish, invoke.SpanID)
	}
	if publish.Attrs["messaging.destination"] != "orders" || publish.Attrs["messaging.system"] != "pubsub" {
		t.Errorf("publish span attributes %v", publish.Attrs)
	}
	if deliver.TraceID != traceID || deliver.Parent != publish.SpanID {
		t.Errorf("delivery span %+v: not a child of the publish span %s", deliver, publish.SpanID)
	}
	if !strings.Contains(ordersTP, deliver.SpanID) {
		t.Errorf("the delivery carried traceparent %q, want span %s", ordersTP, deliver.SpanID)
	}
}
