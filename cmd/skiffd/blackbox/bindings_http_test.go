package blackbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestBindingsHTTP: bindings.http against a real test server: operations
// map to methods, metadata.path is appended to url, upper-case metadata
// keys become request headers, the answer's status and headers come back
// as metadata.* headers, and a non-2xx status is ERR_INVOKE_OUTPUT_BINDING
// unless errorIfNot2XX is false.
func TestBindingsHTTP(t *testing.T) {
	t.Parallel()
	target := startBindingsApp(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/missing":
			w.WriteHeader(404)
			_, _ = w.Write([]byte("nope"))
		default:
			w.Header().Set("X-Echo-Method", r.Method)
			w.WriteHeader(201)
			_, _ = w.Write([]byte(`{"ok":true}`))
		}
	})
	dir := t.TempDir()
	writeFile(t, dir, "http.yaml", bindingYAML("web", "bindings.http", "url", "http://"+target.addr()+"/api/"))
	s := startSidecar(t, Opts{Args: []string{"--resources-path", dir}})

	r := s.do("POST", "/v1.0/bindings/web", []byte(`{"operation":"post","data":{"b":2,"a":"<x>"},"metadata":{"path":"/items","X-Custom":"v1","lower":"not a header"}}`))
	wantStatus(t, "post", r, 200)
	if string(r.Body) != `{"ok":true}` || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("post answer %q %q", r.Body, r.Header.Get("Content-Type"))
	}
	if r.Header.Get("metadata.statusCode") != "201" || r.Header.Get("metadata.status") != "201 Created" || r.Header.Get("metadata.X-Echo-Method") != "POST" {
		t.Errorf("metadata headers: %v", r.Header)
	}
	evs := target.events("POST", "/api/items")
	if len(evs) != 1 {
		t.Fatalf("target got %d POST /api/items", len(evs))
	}
	// daprd re-encodes data with encoding/json: keys sorted, HTML escaped.
	if string(evs[0].Body) != `{"a":"\u003cx\u003e","b":2}` {
		t.Errorf("body sent %s", evs[0].Body)
	}
	if evs[0].Header.Get("X-Custom") != "v1" || evs[0].Header.Get("lower") != "" ||
		evs[0].Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("headers sent %v", evs[0].Header)
	}

	for _, op := range []string{"get", "head", "put", "patch", "delete", "options", "trace", "create"} {
		r := s.do("POST", "/v1.0/bindings/web", []byte(`{"operation":"`+op+`","metadata":{"path":"m"}}`))
		wantStatus(t, op, r, 200)
		want := strings.ToUpper(op)
		if op == "create" {
			want = "POST"
		}
		if got := r.Header.Get("metadata.X-Echo-Method"); got != want {
			t.Errorf("%s sent as %q", op, got)
		}
	}

	wantAPIError(t, "404", s.do("PUT", "/v1.0/bindings/web", []byte(`{"operation":"get","metadata":{"path":"missing"}}`)), 500,
		"ERR_INVOKE_OUTPUT_BINDING", "error invoking output binding web: received status code 404")
	r = s.do("POST", "/v1.0/bindings/web", []byte(`{"operation":"get","metadata":{"path":"missing","errorIfNot2XX":"false"}}`))
	wantStatus(t, "404 allowed", r, 200)
	if string(r.Body) != "nope" || r.Header.Get("metadata.statusCode") != "404" {
		t.Errorf("404 allowed: %q %v", r.Body, r.Header)
	}
	wantAPIError(t, "unknown op", s.do("POST", "/v1.0/bindings/web", []byte(`{"operation":"fetch"}`)), 500, "ERR_INVOKE_OUTPUT_BINDING",
		"binding web does not support operation fetch. supported operations:create get head post put patch delete options trace")
	var e APIError
	_ = json.Unmarshal(s.do("POST", "/v1.0/bindings/web", []byte(`{"operation":"get","metadata":{"path":"missing"}}`)).Body, &e)
	if e.ErrorCode == "" {
		t.Error("no error body")
	}
}
