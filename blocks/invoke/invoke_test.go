package invoke

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

const appID = "myapp"

func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(88172645)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// seen is what the test app records about a request.
type seen struct {
	Method string
	URI    string
	Header http.Header
	Len    int
	Sum    string
}

type app struct {
	srv  *httptest.Server
	mu   sync.Mutex
	last seen
}

func newApp(t *testing.T) *app {
	a := &app{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.last = seen{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Len: len(body), Sum: sum(body)}
		a.mu.Unlock()
		q := r.URL.Query()
		switch {
		case strings.HasPrefix(r.URL.Path, "/status/"):
			code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(code)
			_, _ = w.Write([]byte("app says " + strconv.Itoa(code)))
		case r.URL.Path == "/big":
			n, _ := strconv.Atoi(q.Get("n"))
			w.Header().Set("Content-Length", strconv.Itoa(n))
			_, _ = w.Write(pattern(n))
		case r.URL.Path == "/chunked":
			n, _ := strconv.Atoi(q.Get("n"))
			p := pattern(n)
			for len(p) > 0 {
				k := min(len(p), 7777)
				_, _ = w.Write(p[:k])
				w.(http.Flusher).Flush()
				p = p[k:]
			}
		case r.URL.Path == "/hang":
			<-r.Context().Done()
		default:
			w.Header().Set("X-App", "yes")
			w.Header().Set("Content-Type", "application/json")
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			fmt.Fprintf(w, `{"method":%q,"uri":%q,"len":%d}`, r.Method, r.RequestURI, len(body))
		}
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) port() int { return a.srv.Listener.Addr().(*net.TCPAddr).Port }

func (a *app) seen() seen {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func newService(t testing.TB, port int, mod func(*Config)) (*Service, *router.Table) {
	ch, err := appchannel.New(appchannel.Config{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	cfg := Config{AppID: appID, Channel: ch}
	if mod != nil {
		mod(&cfg)
	}
	s := New(cfg)
	tbl := router.New()
	tbl.MustAdd(s.Routes()...)
	tbl.MustAdd(router.Route{Name: "healthz", Pattern: "/v1.0/healthz", Methods: []http1.Method{http1.MethodGet},
		Handler: func(c *router.Ctx) { c.SetStatus(204) }})
	tbl.Intercept = s.Intercept(tbl)
	return s, tbl
}

// collector is a fake router.Streamer.
type collector struct {
	started bool
	length  int64
	status  int
	headers string
	buf     bytes.Buffer
	closed  bool
}

func (s *collector) StartStream(c *router.Ctx, contentLength int64) (io.WriteCloser, error) {
	s.started, s.length, s.status, s.headers = true, contentLength, c.StatusCode(), string(c.Headers())
	return s, nil
}
func (s *collector) Write(p []byte) (int, error) { return s.buf.Write(p) }
func (s *collector) Close() error                { s.closed = true; return nil }

// exchange runs one request through route lookup and the handler the way
// the server does, and returns the Ctx and the streamer.
func exchange(t testing.TB, tbl *router.Table, fallback *router.Route, head string, body []byte, stream io.Reader) (*router.Ctx, *collector) {
	t.Helper()
	if !strings.Contains(strings.ToLower(head), "\r\nhost:") {
		i := strings.Index(head, "\r\n")
		head = head[:i] + "\r\nHost: localhost:3500" + head[i:]
	}
	c := new(router.Ctx)
	if _, err := c.Req.Parse([]byte(head), 64<<10); err != nil {
		t.Fatalf("parse %q: %v", head, err)
	}
	var route *router.Route
	if tbl.Intercept != nil {
		route = tbl.Intercept(&c.Req, c)
	}
	if route == nil {
		var res router.Result
		route, res = tbl.Match(c.Req.MethodID, c.Req.Path(), c)
		if res != router.Found {
			route = fallback
		}
	}
	c.Route = route
	c.SetPath(c.Req.Path())
	c.Body = body
	c.BodyStream = stream
	c.Ctx = context.Background()
	st := &collector{}
	c.Streamer = st
	route.Handler(c)
	return c, st
}

func header(c *router.Ctx, name string) []string {
	var out []string
	for _, line := range strings.Split(string(c.Headers()), "\r\n") {
		k, v, ok := strings.Cut(line, ": ")
		if ok && strings.EqualFold(k, name) {
			out = append(out, v)
		}
	}
	return out
}

func TestMethodsPathsQuery(t *testing.T) {
	a := newApp(t)
	s, tbl := newService(t, a.port(), nil)
	for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get"} {
		head := m + " /v1.0/invoke/myapp/method/orders/a%2Fb/c%20d/../e?x=1&y=a%20b&x=2 HTTP/1.1\r\nHost: localhost:3500\r\n\r\n"
		c, _ := exchange(t, tbl, s.Fallback(), head, nil, nil)
		if c.StatusCode() != 200 {
			t.Fatalf("%s: status %d %s", m, c.StatusCode(), c.RespBody)
		}
		got := a.seen()
		if got.Method != strings.ToUpper(m) || got.URI != "/orders/a%2Fb/c%20d/../e?x=1&y=a%20b&x=2" {
			t.Errorf("%s: app saw %s %s", m, got.Method, got.URI)
		}
	}
	c, _ := exchange(t, tbl, s.Fallback(), "GET /v1.0/invoke/myapp/method/ HTTP/1.1\r\n\r\n", nil, nil)
	if a.seen().URI != "/" || c.StatusCode() != 200 {
		t.Errorf("empty method: %s %d", a.seen().URI, c.StatusCode())
	}
	c, st := exchange(t, tbl, s.Fallback(), "HEAD /v1.0/invoke/myapp/method/big?n=1234 HTTP/1.1\r\n\r\n", nil, nil)
	if a.seen().Method != "HEAD" || c.StatusCode() != 200 || !st.started || st.length != 1234 || st.buf.Len() != 0 {
		t.Errorf("HEAD: %d started=%v len=%d", c.StatusCode(), st.started, st.length)
	}
}

func TestHeadersBothWays(t *testing.T) {
	a := newApp(t)
	s, tbl := newService(t, a.port(), func(c *Config) { c.StripAPIToken = true })
	head := "POST /v1.0/invoke/myapp/method/neworder HTTP/1.1\r\n" +
		"Host: localhost:3500\r\nContent-Type: application/json\r\nX-Custom: one\r\nX-Custom: two\r\n" +
		"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nTraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n" +
		"dapr-api-token: secret\r\ndapr-caller-app-id: spoofed\r\nContent-Length: 7\r\n\r\n"
	c, _ := exchange(t, tbl, s.Fallback(), head, []byte(`{"a":1}`), nil)
	if c.StatusCode() != 200 {
		t.Fatalf("status %d %s", c.StatusCode(), c.RespBody)
	}
	got := a.seen().Header
	want := map[string]string{
		"Content-Type":       "application/json",
		"X-Custom":           "one,two",
		"Traceparent":        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"Dapr-Caller-App-Id": appID,
		"Dapr-Callee-App-Id": appID,
		"Dapr-Api-Token":     "",
		"Keep-Alive":         "",
	}
	for k, v := range want {
		if g := strings.Join(got.Values(k), ","); g != v {
			t.Errorf("app got %s=%q, want %q", k, g, v)
		}
	}
	if a.seen().Len != 7 {
		t.Errorf("body length %d", a.seen().Len)
	}
	if v := header(c, "X-App"); len(v) != 1 || v[0] != "yes" {
		t.Errorf("X-App %v", v)
	}
	if v := header(c, "Set-Cookie"); strings.Join(v, ",") != "a=1,b=2" {
		t.Errorf("Set-Cookie %v", v)
	}
	for _, h := range []string{"Date", "Content-Length", "Connection", "Transfer-Encoding"} {
		if v := header(c, h); len(v) != 0 {
			t.Errorf("response header %s passed through: %v", h, v)
		}
	}
	if v := header(c, "Content-Type"); len(v) != 1 || v[0] != "application/json" {
		t.Errorf("Content-Type %v", v)
	}
	var body map[string]any
	if err := json.Unmarshal(c.RespBody, &body); err != nil || body["len"] != float64(7) {
		t.Errorf("body %s", c.RespBody)
	}
}

func TestStatusesPassThrough(t *testing.T) {
	a := newApp(t)
	s, tbl := newService(t, a.port(), nil)
	for _, code := range []int{201, 400, 404, 500, 503} {
		c, _ := exchange(t, tbl, s.Fallback(), "GET /v1.0/invoke/myapp/method/status/"+strconv.Itoa(code)+" HTTP/1.1\r\n\r\n", nil, nil)
		if c.StatusCode() != code || string(c.RespBody) != "app says "+strconv.Itoa(code) {
			t.Errorf("%d: got %d %q", code, c.StatusCode(), c.RespBody)
		}
		if v := header(c, "Content-Type"); len(v) != 1 || v[0] != "text/plain" {
			t.Errorf("%d: content-type %v", code, v)
		}
	}
}

func TestBigBodies(t *testing.T) {
	a := newApp(t)
	s, tbl := newService(t, a.port(), nil)
	const n = 8 << 20
	big := pattern(n)

	head := "POST /v1.0/invoke/myapp/method/upload HTTP/1.1\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n"
	c, _ := exchange(t, tbl, s.Fallback(), head, nil, bytes.NewReader(big))
	if c.StatusCode() != 200 || a.seen().Len != n || a.seen().Sum != sum(big) {
		t.Fatalf("request with length: %d %d", c.StatusCode(), a.seen().Len)
	}
	head = "PUT /v1.0/invoke/myapp/method/upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	c, _ = exchange(t, tbl, s.Fallback(), head, nil, bytes.NewReader(big))
	if c.StatusCode() != 200 || a.seen().Len != n || a.seen().Sum != sum(big) {
		t.Fatalf("chunked request: %d %d", c.StatusCode(), a.seen().Len)
	}
	if te := a.seen().Header.Get("Transfer-Encoding"); te != "" {
		t.Errorf("Transfer-Encoding leaked as a header: %q", te)
	}

	for _, path := range []string{"big", "chunked"} {
		c, st := exchange(t, tbl, s.Fallback(), "GET /v1.0/invoke/myapp/method/"+path+"?n="+strconv.Itoa(n)+" HTTP/1.1\r\n\r\n", nil, nil)
		if !st.started || !st.closed || c.StatusCode() != 200 {
			t.Fatalf("%s: not streamed (%d)", path, c.StatusCode())
		}
		wantLen := int64(n)
		if path == "chunked" {
			wantLen = -1
		}
		if st.length != wantLen {
			t.Errorf("%s: stream length %d", path, st.length)
		}
		if !bytes.Equal(st.buf.Bytes(), big) {
			t.Errorf("%s: body differs (%d bytes)", path, st.buf.Len())
		}
	}
}

func TestHeaderForms(t *testing.T) {
	a := newApp(t)
	s, tbl := newService(t, a.port(), nil)

	c, _ := exchange(t, tbl, s.Fallback(), "POST /api//orders/./new/?q=1 HTTP/1.1\r\ndapr-app-id: myapp\r\nContent-Length: 2\r\n\r\n", []byte("{}"), nil)
	if c.StatusCode() != 200 || a.seen().URI != "/api/orders/new/?q=1" {
		t.Fatalf("header form: %d %s", c.StatusCode(), a.seen().URI)
	}
	if v := a.seen().Header.Get("dapr-app-id"); v != "" {
		t.Errorf("dapr-app-id forwarded: %q", v)
	}

	auth := base64.StdEncoding.EncodeToString([]byte("dapr-app-id:myapp"))
	c, _ = exchange(t, tbl, s.Fallback(), "GET /hello HTTP/1.1\r\nAuthorization: Basic "+auth+"\r\n\r\n", nil, nil)
	if c.StatusCode() != 200 || a.seen().URI != "/hello" {
		t.Fatalf("basic form: %d %s", c.StatusCode(), a.seen().URI)
	}
	if v := a.seen().Header.Get("Authorization"); v != "Basic "+auth {
		t.Errorf("Authorization not forwarded as daprd does: %q", v)
	}

	// A path another route serves stays with that route.
	c, _ = exchange(t, tbl, s.Fallback(), "GET /v1.0/healthz HTTP/1.1\r\ndapr-app-id: myapp\r\n\r\n", nil, nil)
	if c.StatusCode() != 204 {
		t.Errorf("healthz with dapr-app-id: %d", c.StatusCode())
	}
	// Same path, another method: daprd's fallback invokes the app.
	c, _ = exchange(t, tbl, s.Fallback(), "POST /v1.0/healthz HTTP/1.1\r\ndapr-app-id: myapp\r\n\r\n", nil, nil)
	if c.StatusCode() != 200 || a.seen().URI != "/v1.0/healthz" {
		t.Errorf("POST healthz with dapr-app-id: %d %s", c.StatusCode(), a.seen().URI)
	}
	// The header wins over the invoke URL.
	c, _ = exchange(t, tbl, s.Fallback(), "GET /v1.0/invoke/other/method/x HTTP/1.1\r\ndapr-app-id: myapp\r\n\r\n", nil, nil)
	if c.StatusCode() != 200 || a.seen().URI != "/v1.0/invoke/other/method/x" {
		t.Errorf("header over URL: %d %s", c.StatusCode(), a.seen().URI)
	}
	// Without a header, no interception.
	c1 := new(router.Ctx)
	_, _ = c1.Req.Parse([]byte("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"), 4096)
	if tbl.Intercept(&c1.Req, c1) != nil {
		t.Error("intercepted a request without dapr-app-id")
	}
}

func TestTargets(t *testing.T) {
	a := newApp(t)
	s, tbl := newService(t, a.port(), nil)
	cases := []struct {
		head   string
		status int
		msg    string
	}{
		{"GET /v1.0/invoke/myapp.default/method/x HTTP/1.1\r\n\r\n", 200, ""},
		{"GET /v1.0/invoke/my%61pp/method/x HTTP/1.1\r\n\r\n", 200, ""},
		{"GET /v1.0/invoke/other/method/x HTTP/1.1\r\n\r\n", 500, "failed to invoke, id: other, err: couldn't find service: other"},
		{"GET /v1.0/invoke/other.ns/method/x HTTP/1.1\r\n\r\n", 500, "failed to invoke, id: other.ns, err: couldn't find service: other"},
		{"GET /v1.0/invoke/a.b.c/method/x HTTP/1.1\r\n\r\n", 500, "failed to invoke, id: a.b.c, err: invalid app id a.b.c"},
		{"GET /v1.0/invoke/myapp HTTP/1.1\r\n\r\n", 404, msgNoAppID},
		{"GET /v1.0/invoke/myapp/methods/x HTTP/1.1\r\n\r\n", 404, msgNoAppID},
		{"GET /unknown/path HTTP/1.1\r\n\r\n", 404, msgNoAppID},
		{"PROPFIND /v1.0/invoke/myapp/method/x HTTP/1.1\r\n\r\n", 500, "failed to invoke, id: myapp, err: rpc error: code = InvalidArgument desc = invalid HTTP verb"},
	}
	for _, tc := range cases {
		c, _ := exchange(t, tbl, s.Fallback(), tc.head, nil, nil)
		if c.StatusCode() != tc.status {
			t.Errorf("%q: status %d (%s)", tc.head, c.StatusCode(), c.RespBody)
			continue
		}
		if tc.msg == "" {
			continue
		}
		var e struct{ ErrorCode, Message string }
		if err := json.Unmarshal(c.RespBody, &e); err != nil || e.ErrorCode != "ERR_DIRECT_INVOKE" || e.Message != tc.msg {
			t.Errorf("%q: %s", tc.head, c.RespBody)
		}
	}
}

func TestAppDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	s, tbl := newService(t, port, nil)
	c, _ := exchange(t, tbl, s.Fallback(), "POST /v1.0/invoke/myapp/method/neworder HTTP/1.1\r\nContent-Length: 0\r\n\r\n", nil, nil)
	var e struct{ ErrorCode, Message string }
	_ = json.Unmarshal(c.RespBody, &e)
	want := fmt.Sprintf(`failed to invoke, id: myapp, err: Post "http://127.0.0.1:%d/neworder": dial tcp 127.0.0.1:%d: connect: connection refused`, port, port)
	if c.StatusCode() != 500 || e.ErrorCode != "ERR_DIRECT_INVOKE" || e.Message != want {
		t.Errorf("%d %s", c.StatusCode(), c.RespBody)
	}

	// No --app-port at all.
	s = New(Config{AppID: appID})
	tbl = router.New()
	tbl.MustAdd(s.Routes()...)
	c, _ = exchange(t, tbl, s.Fallback(), "GET /v1.0/invoke/myapp/method/x HTTP/1.1\r\n\r\n", nil, nil)
	if c.StatusCode() != 500 || !strings.Contains(string(c.RespBody), "app channel not initialized") {
		t.Errorf("no channel: %d %s", c.StatusCode(), c.RespBody)
	}
}

func TestCancellation(t *testing.T) {
	a := newApp(t)
	_, tbl := newService(t, a.port(), nil)
	c := new(router.Ctx)
	_, _ = c.Req.Parse([]byte("GET /v1.0/invoke/myapp/method/hang HTTP/1.1\r\nHost: x\r\n\r\n"), 4096)
	route, _ := tbl.Match(c.Req.MethodID, c.Req.Path(), c)
	ctx, cancel := context.WithCancel(context.Background())
	c.Ctx = ctx
	time.AfterFunc(30*time.Millisecond, cancel)
	start := time.Now()
	route.Handler(c)
	if time.Since(start) > 2*time.Second {
		t.Fatalf("handler took %v after cancel", time.Since(start))
	}
	if c.StatusCode() != 500 || !strings.Contains(string(c.RespBody), "context canceled") {
		t.Errorf("%d %s", c.StatusCode(), c.RespBody)
	}
}

// cannedApp answers every request with a fixed small response.
func cannedApp(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 8192)
				resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
				have := 0
				for {
					n, err := c.Read(buf[have:])
					if err != nil {
						return
					}
					have += n
					i := bytes.Index(buf[:have], []byte("\r\n\r\n"))
					if i < 0 {
						continue
					}
					end := i + 4
					if j := bytes.Index(buf[:i], []byte("Content-Length: ")); j >= 0 {
						k, l := j+len("Content-Length: "), 0
						for buf[k] >= '0' && buf[k] <= '9' {
							l = l*10 + int(buf[k]-'0')
							k++
						}
						end += l
					}
					if end > have {
						continue
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
					copy(buf, buf[end:have])
					have -= end
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func BenchmarkInvokeSmall(b *testing.B) {
	_, tbl := newService(b, cannedApp(b), nil)
	head := []byte("POST /v1.0/invoke/myapp/method/neworder HTTP/1.1\r\nHost: localhost:3500\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n")
	body := []byte(`{"orderId":1}`)
	c := new(router.Ctx)
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		if _, err := c.Req.Parse(head, 4096); err != nil {
			b.Fatal(err)
		}
		route, _ := tbl.Match(c.Req.MethodID, c.Req.Path(), c)
		c.Body = body
		c.Ctx = context.Background()
		route.Handler(c)
		if c.StatusCode() != 200 {
			b.Fatal(c.StatusCode(), string(c.RespBody))
		}
	}
}

func TestInvokeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations under -race")
	}
	_, tbl := newService(t, cannedApp(t), nil)
	head := []byte("POST /v1.0/invoke/myapp/method/neworder HTTP/1.1\r\nHost: localhost:3500\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n")
	body := []byte(`{"orderId":1}`)
	c := new(router.Ctx)
	run := func() {
		c.Reset()
		if _, err := c.Req.Parse(head, 4096); err != nil {
			t.Fatal(err)
		}
		route, _ := tbl.Match(c.Req.MethodID, c.Req.Path(), c)
		c.Body = body
		c.Ctx = context.Background()
		route.Handler(c)
		if c.StatusCode() != 200 || string(c.RespBody) != `{"ok":true}` {
			t.Fatal(c.StatusCode(), string(c.RespBody))
		}
	}
	run()
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("%v allocations per invoke, want 0", n)
	}
}
