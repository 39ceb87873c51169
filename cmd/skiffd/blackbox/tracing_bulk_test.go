package blackbox

import (
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitSpans polls until n spans named name have arrived, or fails.
func (rc *otlpReceiver) waitSpans(t testing.TB, name string, n int) []span {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got []span
		rc.mu.Lock()
		for _, s := range rc.spans {
			if s.Name == name {
				got = append(got, s)
			}
		}
		rc.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spans %q after 30 s, want %d", len(got), name, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func spanIDs(spans []span, f func(span) string) []string {
	var out []string
	for _, s := range spans {
		out = append(out, f(s))
	}
	sort.Strings(out)
	return out
}

// TestTracingBulk: with tracing on, each entry of a bulk publish gets
// daprd's producer span (named by the path) under the API span, its event
// carries it, and the delivery spans, one per event for a plain and for a
// bulk subscription, are its children.
func TestTracingBulk(t *testing.T) {
	rc := startOTLPReceiver(t)
	var mu sync.Mutex
	manyTP := ""
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dapr/subscribe":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `[{"pubsubname":"pubsub","topic":"orders","route":"/orders"},
				{"pubsubname":"pubsub","topic":"many","route":"/many","bulkSubscribe":{"enabled":true,"maxMessagesCount":10,"maxAwaitDurationMs":500}}]`)
			return
		case "/many":
			mu.Lock()
			manyTP = r.Header.Get("traceparent")
			mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(200)
	})}
	go func() { _ = app.Serve(ln) }()
	t.Cleanup(func() { _ = app.Close() })
	s := startSidecar(t, Opts{AppPort: ln.Addr().(*net.TCPAddr).Port, Args: []string{"--config", tracingConfig(t, rc, "1")}})
	s.waitSubscribed(t, 2)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	body := []byte(`[{"entryId":"1","event":{"n":1},"contentType":"application/json"},{"entryId":"2","event":{"n":2},"contentType":"application/json"}]`)
	for _, topic := range []string{"orders", "many"} {
		r := s.do("POST", "/v1.0-alpha1/publish/bulk/pubsub/"+topic, body, "Content-Type", "application/json", "traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
		wantStatus(t, "bulk publish "+topic, r, 204)
	}

	for _, topic := range []string{"orders", "many"} {
		path := "/v1.0-alpha1/publish/bulk/pubsub/" + topic
		all := rc.waitSpans(t, path, 3)
		var api span
		var entries []span
		for _, sp := range all {
			if sp.Kind == 3 {
				api = sp
			} else {
				entries = append(entries, sp)
			}
		}
		if api.Parent != "00f067aa0ba902b7" || api.Attrs["messaging.destination"] != topic {
			t.Errorf("%s: API span %+v", topic, api)
		}
		if len(entries) != 2 {
			t.Fatalf("%s: entry spans %+v", topic, entries)
		}
		for _, e := range entries {
			if e.Kind != 4 || e.Parent != api.SpanID || e.TraceID != traceID { // SPAN_KIND_PRODUCER
				t.Errorf("%s: entry span %+v, want a producer child of %s", topic, e, api.SpanID)
			}
		}
		deliveries := rc.waitSpans(t, "pubsub/"+topic, 2)
		want := spanIDs(entries, func(s span) string { return s.SpanID })
		if got := spanIDs(deliveries, func(s span) string { return s.Parent }); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: delivery spans under %v, want the entry spans %v", topic, got, want)
		}
		if topic == "many" {
			mu.Lock()
			tp := manyTP
			mu.Unlock()
			if ids := spanIDs(deliveries, func(s span) string { return s.SpanID }); !strings.Contains(tp, ids[0]) && !strings.Contains(tp, ids[1]) {
				t.Errorf("the bulk delivery carried traceparent %q, want one of the delivery spans %v", tp, ids)
			}
		}
	}
}

// TestTracingBaggage: with tracing on, the API answers the valid items of
// the caller's W3C baggage in a baggage header, as daprd does, and an
// invocation passes the baggage on to the app.
func TestTracingBaggage(t *testing.T) {
	rc := startOTLPReceiver(t)
	var got sync.Map
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.Path, r.Header.Get("baggage"))
		w.WriteHeader(200)
	})}
	go func() { _ = app.Serve(ln) }()
	t.Cleanup(func() { _ = app.Close() })
	s := startSidecar(t, Opts{AppPort: ln.Addr().(*net.TCPAddr).Port, Args: []string{"--config", tracingConfig(t, rc, "1")}})

	r := s.do("POST", "/v1.0/invoke/"+s.AppID+"/method/test", []byte("x"), "baggage", "key1=value1,invalid-format,key2=value2;p=1")
	wantStatus(t, "invoke", r, 200)
	if b := r.Header.Get("baggage"); b != "key1=value1,key2=value2;p=1" {
		t.Errorf("response baggage %q", b)
	}
	if b, _ := got.Load("/test"); !strings.Contains(b.(string), "key1=value1") {
		t.Errorf("the app got baggage %q", b)
	}
	r = s.do("GET", "/v1.0/state/statestore/k", nil, "baggage", "invalid")
	wantStatus(t, "state get", r, 204)
	if b := r.Header.Values("baggage"); len(b) != 0 {
		t.Errorf("invalid baggage answered %q", b)
	}
	r = s.do("GET", "/v1.0/state/statestore/k", nil)
	if b := r.Header.Values("baggage"); len(b) != 0 {
		t.Errorf("baggage answered to a request without any: %q", b)
	}
}
