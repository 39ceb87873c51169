package blackbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// echo is the test app's /echo answer.
type echo struct {
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	RawQuery string            `json:"rawQuery"`
	Headers  map[string]string `json:"headers"`
	Body     string            `json:"body"`
}

func decodeEcho(t testing.TB, what string, r Resp) echo {
	t.Helper()
	var e echo
	if r.Status != 200 {
		t.Fatalf("%s: status %d, body %q", what, r.Status, trunc(r.Body))
	}
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("%s: not the app's echo: %v; %q", what, err, trunc(r.Body))
	}
	return e
}

// pattern is byte i of the test app's /big stream (cmd/skiff-testapp).
func pattern(i int) byte { return byte('a' + (i*7+i/251)%26) }

func TestInvoke(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "invoker", AppPort: app.Port, Args: []string{"--max-body-size", "16Mi"}})
	base := "/v1.0/invoke/invoker/method"

	t.Run("methods", func(t *testing.T) {
		for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"} {
			var body []byte
			if m != "GET" && m != "TRACE" && m != "OPTIONS" {
				body = []byte("body of " + m)
			}
			e := decodeEcho(t, m, s.do(m, base+"/echo/m", body))
			if e.Method != m || e.Path != "/echo/m" || e.Body != string(body) {
				t.Errorf("%s: the app saw %s %s body %q", m, e.Method, e.Path, e.Body)
			}
		}
		// HEAD: the app's status and headers, no body.
		r := s.do("HEAD", base+"/echo/head", nil)
		if r.Status != 200 || len(r.Body) != 0 || r.Header.Get("X-App-Reply") != "echo" {
			t.Errorf("HEAD: %d %v %q", r.Status, r.Header, r.Body)
		}
	})

	t.Run("path-and-query", func(t *testing.T) {
		e := decodeEcho(t, "nested", s.do("GET", base+"/echo/a/b/c/d.json?x=1&y=two&x=3&empty=", nil))
		if e.Path != "/echo/a/b/c/d.json" {
			t.Errorf("path %q", e.Path)
		}
		if e.RawQuery != "x=1&y=two&x=3&empty=" {
			t.Errorf("query %q", e.RawQuery)
		}
		e = decodeEcho(t, "escaped query", s.do("GET", base+"/echo/q?s=a%20b%26c&u=%C3%A9", nil))
		if e.RawQuery != "s=a%20b%26c&u=%C3%A9" {
			t.Errorf("escaped query %q", e.RawQuery)
		}
		e = decodeEcho(t, "trailing slash", s.do("GET", base+"/echo/dir/", nil))
		if e.Path != "/echo/dir/" {
			t.Errorf("trailing slash: path %q", e.Path)
		}
	})

	t.Run("headers", func(t *testing.T) {
		r := s.do("POST", base+"/echo/h", []byte(`{"a":1}`),
			"Content-Type", "application/json",
			"X-Custom", "custom value",
			"X-Multi", "one",
			"X-Multi", "two",
			"Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		e := decodeEcho(t, "headers", r)
		h := e.Headers
		for k, want := range map[string]string{
			"Content-Type":       "application/json",
			"X-Custom":           "custom value",
			"X-Multi":            "one, two",
			"Dapr-Caller-App-Id": "invoker",
			"Dapr-Callee-App-Id": "invoker",
		} {
			if h[k] != want {
				t.Errorf("the app got %s: %q, want %q (all: %v)", k, h[k], want, h)
			}
		}
		if e.Body != `{"a":1}` {
			t.Errorf("body %q", e.Body)
		}
		// From the app back to the caller.
		if r.Header.Get("X-App-Reply") != "echo" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("the caller got headers %v", r.Header)
		}
		r = s.do("GET", base+"/status/202", nil)
		if r.Header.Get("X-Status") != "202" || r.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("app headers on a 202: %v", r.Header)
		}
	})

	t.Run("statuses", func(t *testing.T) {
		for _, st := range []int{200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 409, 418, 422, 429, 500, 502, 503} {
			r := s.do("POST", base+"/status/"+strconv.Itoa(st), []byte("x"))
			if r.Status != st {
				t.Errorf("app status %d came back as %d (%q)", st, r.Status, trunc(r.Body))
				continue
			}
			want := fmt.Sprintf("status %d", st)
			if st == 204 || st == 304 {
				want = ""
			}
			if string(r.Body) != want {
				t.Errorf("app status %d: body %q, want %q", st, r.Body, want)
			}
		}
	})

	t.Run("8MiB-request", func(t *testing.T) {
		const n = 8 << 20
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i*31 + i>>13)
		}
		r := s.do("PUT", base+"/echo-raw/big", body, "Content-Type", "application/octet-stream")
		if r.Status != 200 || r.Header.Get("X-Body-Len") != strconv.Itoa(n) {
			t.Fatalf("status %d, app saw %s bytes", r.Status, r.Header.Get("X-Body-Len"))
		}
		if !bytes.Equal(r.Body, body) {
			t.Fatalf("8 MiB body came back changed (len %d)", len(r.Body))
		}
	})

	t.Run("8MiB-chunked-request", func(t *testing.T) {
		const n = 8 << 20
		body := make([]byte, n)
		for i := range body {
			body[i] = byte(i*13 + i>>9)
		}
		// An io.Reader of unknown length makes net/http send it chunked.
		req, _ := http.NewRequest("POST", s.URL+base+"/echo-raw/chunked", io.MultiReader(bytes.NewReader(body)))
		resp, err := s.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || !bytes.Equal(got, body) {
			t.Fatalf("chunked 8 MiB: status %d, %d bytes back, equal %v", resp.StatusCode, len(got), bytes.Equal(got, body))
		}
	})

	t.Run("8MiB-response", func(t *testing.T) {
		const n = 8 << 20
		resp, err := s.Client.Get(s.URL + base + "/big/" + strconv.Itoa(n))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || len(got) != n {
			t.Fatalf("status %d, %d bytes, want %d", resp.StatusCode, len(got), n)
		}
		for i := range got {
			if got[i] != pattern(i) {
				t.Fatalf("byte %d is %q, want %q", i, got[i], pattern(i))
			}
		}
	})

	t.Run("dapr-app-id-header", func(t *testing.T) {
		e := decodeEcho(t, "header form", s.do("POST", "/echo/via/header?q=1", []byte("hb"), "dapr-app-id", "invoker"))
		if e.Method != "POST" || e.Path != "/echo/via/header" || e.RawQuery != "q=1" || e.Body != "hb" {
			t.Errorf("the app saw %+v", e)
		}
		if e.Headers["Dapr-Caller-App-Id"] != "invoker" {
			t.Errorf("dapr-caller-app-id %q", e.Headers["Dapr-Caller-App-Id"])
		}
		// The header form on a path that is a Dapr route leaves it to the route.
		wantStatus(t, "healthz with dapr-app-id", s.do("GET", "/v1.0/healthz", nil, "dapr-app-id", "invoker"), 204)
		// Basic auth form.
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("dapr-app-id:invoker"))
		e = decodeEcho(t, "basic form", s.do("GET", "/echo/via/basic", nil, "Authorization", auth))
		if e.Path != "/echo/via/basic" {
			t.Errorf("basic form: the app saw %s", e.Path)
		}
		wantAPIError(t, "header form, unknown app", s.do("GET", "/echo/x", nil, "dapr-app-id", "nobody"), 500, "ERR_DIRECT_INVOKE", "nobody")
	})

	t.Run("unknown-app", func(t *testing.T) {
		wantAPIError(t, "unknown app id", s.do("GET", "/v1.0/invoke/nobody/method/echo/x", nil), 500, "ERR_DIRECT_INVOKE", "nobody")
	})

	t.Run("unmatched-path", func(t *testing.T) {
		for _, p := range []string{"/nothing/here", "/v1.0/invoke/invoker", "/v1.0/invoke/invoker/methods/x", "/v2.0/state/statestore/k"} {
			wantAPIError(t, p, s.do("GET", p, nil), 404, "ERR_DIRECT_INVOKE", "failed getting app id")
		}
	})
}

// TestInvokeAppDown: once the app is gone, invocations fail with 500
// ERR_DIRECT_INVOKE and the sidecar keeps serving.
func TestInvokeAppDown(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "downapp", AppPort: app.Port})
	wantStatus(t, "app up", s.do("GET", "/v1.0/invoke/downapp/method/echo/up", nil), 200)
	app.Stop()
	for i := range 3 { // pooled connection first, then fresh dials
		wantAPIError(t, fmt.Sprint("app down #", i), s.do("POST", "/v1.0/invoke/downapp/method/echo/down", []byte("x")), 500, "ERR_DIRECT_INVOKE", "downapp")
	}
	wantStatus(t, "sidecar still serves state", s.do("POST", store, []byte(`[{"key":"k","value":1}]`)), 204)
	// The app comes back on the same port: invocations work again.
	startApp(t, app.Port)
	wantStatus(t, "app back", s.do("GET", "/v1.0/invoke/downapp/method/echo/back", nil), 200)
}

// TestInvokeNoAppPort: without --app-port there is no app channel.
func TestInvokeNoAppPort(t *testing.T) {
	t.Parallel()
	s := startSidecar(t, Opts{AppID: "noport"})
	wantAPIError(t, "no app channel", s.do("GET", "/v1.0/invoke/noport/method/echo/x", nil), 500, "ERR_DIRECT_INVOKE")
}
