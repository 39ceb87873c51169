package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/router"
)

// rawApp is a test app speaking HTTP/1.1 by hand, so a test controls
// framing and closes exactly. answer writes the response to req and
// reports whether to close the connection afterwards.
type rawApp struct {
	ln      net.Listener
	answer  func(n int, req *http.Request, body []byte, w *bufio.Writer) (close bool)
	conns   atomic.Int64 // connections accepted
	reqs    atomic.Int64
	eofs    atomic.Int64 // connections the sidecar closed
	mu      sync.Mutex
	open    []net.Conn
	stopped atomic.Bool
}

func startRawApp(t testing.TB, answer func(n int, req *http.Request, body []byte, w *bufio.Writer) bool) *rawApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &rawApp{ln: ln, answer: answer}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.conns.Add(1)
			a.mu.Lock()
			a.open = append(a.open, c)
			a.mu.Unlock()
			go a.serve(c)
		}
	}()
	t.Cleanup(a.stop)
	return a
}

func (a *rawApp) stop() {
	a.stopped.Store(true)
	a.ln.Close()
	a.mu.Lock()
	for _, c := range a.open {
		c.Close()
	}
	a.mu.Unlock()
}

func (a *rawApp) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	for n := 0; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			if !a.stopped.Load() {
				a.eofs.Add(1)
			}
			return
		}
		body, _ := io.ReadAll(req.Body)
		a.reqs.Add(1)
		closeIt := a.answer(n, req, body, bw)
		bw.Flush()
		if closeIt {
			return
		}
	}
}

func (a *rawApp) port() int { return a.ln.Addr().(*net.TCPAddr).Port }

// appTestServer serves /call/{path*}: its Inline handler calls the app
// from the loop and relays the answer; a call that cannot be made from the
// loop answers 599, so every test proves which path it took.
func appTestServer(t testing.TB, appPort int, mutate func(*appchannel.Config)) (addr string, s *Server) {
	t.Helper()
	cfg := appchannel.Config{Port: appPort, MaxResponseBody: 1 << 20}
	if mutate != nil {
		mutate(&cfg)
	}
	ch, err := appchannel.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := func(c *router.Ctx, resp *router.AppResponse, err error) {
		if err != nil {
			c.SetStatus(502)
			c.WriteString(err.Error())
			return
		}
		c.SetStatus(resp.Status)
		if v := resp.Header("X-App"); v != nil {
			c.SetHeaderBytes("X-App", v)
		}
		if resp.BodyStream != nil {
			// On a worker: stream it as invoke does.
			c.SetHeader("X-Streamed", "1")
			w, err := c.StartStream(resp.ContentLength)
			if err != nil {
				return
			}
			if _, err := io.Copy(w, resp.BodyStream); err != nil {
				w.(interface{ CloseWithError(error) error }).CloseWithError(err)
				return
			}
			w.Close()
			return
		}
		c.Write(resp.Body)
	}
	inline := func(c *router.Ctx) {
		if !c.CanCallApp() {
			c.SetStatus(599)
			return
		}
		req := appchannel.Request{Method: c.Req.Method(), Path: append([]byte("/"), c.Param(0)...), Query: c.Req.Query(), Body: c.Body}
		if v := c.Req.Header("Idempotency-Key"); v != nil {
			req.AddHeader([]byte("Idempotency-Key"), v)
		}
		c.CallApp(ch.AppendRequest(nil, &req), req.Replayable(), done)
	}
	tbl := router.New()
	tbl.MustAdd(
		router.Route{Name: "call", Pattern: "/call/{path*}", Mode: router.Stream, Inline: inline,
			Handler: func(c *router.Ctx) { c.SetStatus(598) }},
		router.Route{Name: "hello", Pattern: "/hello/{name}", Handler: func(c *router.Ctx) {
			c.WriteString("hello " + string(c.Param(0)))
		}},
	)
	port := freePort(t)
	s = New(Config{Addrs: []string{fmt.Sprintf("tcp://127.0.0.1:%d", port)}, Table: tbl, Loops: 1, AppChannel: ch})
	go s.Serve()
	select {
	case <-s.Booted():
	case <-time.After(5 * time.Second):
		t.Fatal("server did not boot")
	}
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(3 * time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-s.Stopped()
	})
	return fmt.Sprintf("127.0.0.1:%d", port), s
}

func writeResp(w *bufio.Writer, status int, hdr string, body []byte) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n%sContent-Length: %d\r\n\r\n", status, http.StatusText(status), hdr, len(body))
	w.Write(body)
}

func writeChunked(w *bufio.Writer, body []byte, piece int) {
	w.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
	for len(body) > 0 {
		k := min(piece, len(body))
		fmt.Fprintf(w, "%x\r\n", k)
		w.Write(body[:k])
		w.WriteString("\r\n")
		body = body[k:]
	}
	w.WriteString("0\r\n\r\n")
}

func echoApp(n int, req *http.Request, body []byte, w *bufio.Writer) bool {
	switch {
	case strings.HasPrefix(req.URL.Path, "/slow/"):
		ms, _ := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/slow/"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		writeResp(w, 200, "", []byte("slept"))
	case strings.HasPrefix(req.URL.Path, "/big/"):
		size, _ := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/big/"))
		b := bytes.Repeat([]byte("x"), size)
		if req.URL.Query().Get("chunked") != "" {
			writeChunked(w, b, 16<<10)
		} else {
			writeResp(w, 200, "", b)
		}
	case req.URL.Path == "/chunked":
		writeChunked(w, []byte("hello chunked world"), 5)
	default:
		writeResp(w, 201, "X-App: yes\r\n", append([]byte(req.Method+" "+req.URL.Path+" "), body...))
	}
	return false
}

func TestAppCallPipelinedOrder(t *testing.T) {
	app := startRawApp(t, echoApp)
	addr, _ := appTestServer(t, app.port(), nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	var dialed int64
	for round := 0; round < 3; round++ {
		var b strings.Builder
		for i := 0; i < 20; i++ {
			fmt.Fprintf(&b, "POST /call/e%d HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nb%d", i, i%10)
			fmt.Fprintf(&b, "GET /hello/h%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
			if i%5 == 0 {
				fmt.Fprintf(&b, "GET /call/slow/30 HTTP/1.1\r\nHost: x\r\n\r\n")
			}
		}
		if _, err := c.Write([]byte(b.String())); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			resp, body := readResp(t, br, "POST")
			if want := fmt.Sprintf("POST /e%d b%d", i, i%10); resp.StatusCode != 201 || body != want || resp.Header.Get("X-App") != "yes" {
				t.Fatalf("#%d: %d %q, want 201 %q", i, resp.StatusCode, body, want)
			}
			if _, body := readResp(t, br, "GET"); body != fmt.Sprintf("hello h%d", i) {
				t.Fatalf("#%d inline: %q", i, body)
			}
			if i%5 == 0 {
				if resp, body := readResp(t, br, "GET"); resp.StatusCode != 200 || body != "slept" {
					t.Fatalf("#%d slow: %d %q", i, resp.StatusCode, body)
				}
			}
		}
		// A burst needs at most one connection per call; later bursts reuse them.
		n := app.conns.Load()
		if n > 24 || round > 0 && n != dialed {
			t.Fatalf("round %d: %d app connections (had %d)", round, n, dialed)
		}
		dialed = n
	}
}

func TestAppCallManyClients(t *testing.T) {
	app := startRawApp(t, echoApp)
	addr, _ := appTestServer(t, app.port(), nil)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for i := 0; i < 50; i++ {
				fmt.Fprintf(c, "POST /call/m HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n%03d", i)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				if string(body) != fmt.Sprintf("POST /m %03d", i) {
					errs <- fmt.Errorf("body %q", body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestAppCallAppDown(t *testing.T) {
	port := freePort(t) // nothing listens there
	addr, _ := appTestServer(t, port, nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		fmt.Fprintf(c, "POST /call/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
		resp, body := readResp(t, br, "POST")
		want := fmt.Sprintf("dial tcp 127.0.0.1:%d: connect: connection refused", port)
		if resp.StatusCode != 502 || body != want {
			t.Fatalf("%d %q, want %q", resp.StatusCode, body, want)
		}
	}
	// A pipelined burst queues behind the dials and fails call by call.
	var b strings.Builder
	for i := 0; i < 10; i++ {
		b.WriteString("GET /call/x HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/y HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	c.Write([]byte(b.String()))
	for i := 0; i < 10; i++ {
		if resp, _ := readResp(t, br, "GET"); resp.StatusCode != 502 {
			t.Fatalf("#%d: %d", i, resp.StatusCode)
		}
		if _, body := readResp(t, br, "GET"); body != "hello y" {
			t.Fatalf("#%d: %q", i, body)
		}
	}
}

// The app closes its idle connections: the loop sees the EOF and drops
// them, so the next call dials instead of failing.
func TestAppCallAppClosesIdle(t *testing.T) {
	app := startRawApp(t, func(n int, req *http.Request, body []byte, w *bufio.Writer) bool {
		writeResp(w, 200, "", []byte("ok"))
		return true // no Connection: close: the close comes unannounced
	})
	addr, _ := appTestServer(t, app.port(), nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 5; i++ {
		fmt.Fprintf(c, "POST /call/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
		if resp, body := readResp(t, br, "POST"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("#%d: %d %q", i, resp.StatusCode, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := app.conns.Load(); n != 5 {
		t.Fatalf("%d app connections, want 5", n)
	}
}

// A reused connection the app closes without answering: a replayable
// request is sent once more on another connection, a POST is not.
func TestAppCallStaleRetry(t *testing.T) {
	app := startRawApp(t, func(n int, req *http.Request, body []byte, w *bufio.Writer) bool {
		if n == 1 {
			return true // the second request on a connection: hang up
		}
		writeResp(w, 200, "", []byte("ok"))
		return false
	})
	addr, _ := appTestServer(t, app.port(), nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	get := "GET /call/x HTTP/1.1\r\nHost: x\r\n\r\n"
	for i := 0; i < 3; i++ {
		c.Write([]byte(get))
		if resp, body := readResp(t, br, "GET"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("GET #%d: %d %q", i, resp.StatusCode, body)
		}
	}
	c.Write([]byte("POST /call/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"))
	resp, body := readResp(t, br, "POST")
	if resp.StatusCode == 200 {
		// It went out on a fresh connection; the next one is reused.
		c.Write([]byte("POST /call/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"))
		resp, body = readResp(t, br, "POST")
	}
	if resp.StatusCode != 502 || body != "EOF" {
		t.Fatalf("POST on a connection the app drops: %d %q, want 502 EOF", resp.StatusCode, body)
	}
	c.Write([]byte("POST /call/x HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k\r\nContent-Length: 1\r\n\r\nx"))
	// Either fresh (answered) or reused (dropped, then retried): 200.
	for i := 0; i < 2; i++ {
		if resp, body := readResp(t, br, "POST"); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("idempotent POST: %d %q", resp.StatusCode, body)
		}
		c.Write([]byte("POST /call/x HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k\r\nContent-Length: 1\r\n\r\nx"))
	}
}

func TestAppCallResetWording(t *testing.T) {
	app := startRawApp(t, func(n int, req *http.Request, body []byte, w *bufio.Writer) bool {
		w.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
		return true
	})
	addr, _ := appTestServer(t, app.port(), nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	c.Write([]byte("GET /call/x HTTP/1.1\r\nHost: x\r\n\r\n"))
	if resp, body := readResp(t, br, "GET"); resp.StatusCode != 502 || body != "unexpected EOF" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// The client leaves while the app is answering: the app connection is
// closed (never reused with a response pending) and the server goes on.
func TestAppCallClientVanishes(t *testing.T) {
	app := startRawApp(t, echoApp)
	addr, s := appTestServer(t, app.port(), nil)
	for i := 0; i < 5; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /call/slow/100 HTTP/1.1\r\nHost: x\r\n\r\nGET /call/slow/100 HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(20 * time.Millisecond)
		c.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for app.eofs.Load() < 5 || s.InFlight() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("app saw %d closes, %d in flight", app.eofs.Load(), s.InFlight())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c := dial(t, addr)
	br := bufio.NewReader(c)
	c.Write([]byte("POST /call/again HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"))
	if resp, body := readResp(t, br, "POST"); resp.StatusCode != 201 || body != "POST /again " {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// Bodies over 64 KiB (by Content-Length or chunked) go to a worker and
// stream; small chunked ones are answered from the loop; the app response
// limit holds on both paths.
func TestAppCallLargeAndChunkedResponses(t *testing.T) {
	app := startRawApp(t, echoApp)
	addr, _ := appTestServer(t, app.port(), nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	cases := []struct {
		path     string
		status   int
		size     int
		streamed bool
	}{
		{"/call/big/1000", 200, 1000, false},
		{"/call/big/65536", 200, 65536, false},
		{"/call/big/65537", 200, 65537, true},
		{"/call/big/300000", 200, 300000, true},
		{"/call/big/300000?chunked=1", 200, 300000, true},
		{"/call/big/2000000", 502, 0, false}, // over MaxResponseBody
		{"/call/big/1000", 200, 1000, false},
	}
	for _, tc := range cases {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", tc.path)
		resp, body := readResp(t, br, "GET")
		if resp.StatusCode != tc.status || tc.status == 200 && body != strings.Repeat("x", tc.size) {
			t.Fatalf("%s: %d, %d bytes %.40q", tc.path, resp.StatusCode, len(body), body)
		}
		if streamed := resp.Header.Get("X-Streamed") != ""; streamed != tc.streamed {
			t.Fatalf("%s: streamed %v", tc.path, streamed)
		}
	}
	fmt.Fprintf(c, "GET /call/chunked HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := readResp(t, br, "GET"); body != "hello chunked world" || resp.Header.Get("X-Streamed") != "" {
		t.Fatalf("small chunked: %q streamed=%q", body, resp.Header.Get("X-Streamed"))
	}
}

// --app-max-concurrency: calls over the limit queue (they are not
// refused), the app never sees more at once, and a client that leaves
// while queued or in flight gives its slot back.
func TestAppCallMaxConcurrency(t *testing.T) {
	var cur, peak atomic.Int64
	app := startRawApp(t, func(n int, req *http.Request, body []byte, w *bufio.Writer) bool {
		k := cur.Add(1)
		for {
			p := peak.Load()
			if k <= p || peak.CompareAndSwap(p, k) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		cur.Add(-1)
		writeResp(w, 200, "", []byte("ok"))
		return false
	})
	addr, _ := appTestServer(t, app.port(), func(c *appchannel.Config) { c.MaxConcurrency = 2 })

	// Clients that leave while their calls are queued or in flight.
	for i := 0; i < 4; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /call/a HTTP/1.1\r\nHost: x\r\n\r\nGET /call/b HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(5 * time.Millisecond)
		c.Close()
	}
	// Abandoned calls still run in the app (as with daprd): let them end.
	time.Sleep(200 * time.Millisecond)
	peak.Store(0)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	start := time.Now()
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /call/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs <- err
				return
			}
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 2 {
		t.Fatalf("app saw %d calls at once, limit 2", p)
	}
	// 8 calls of 50 ms two at a time, behind at most 8 abandoned ones.
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v: slots leaked?", d)
	}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// A chunked body that trickles flows to the client as it comes (it is
// handed to a worker, not buffered until its end); a client leaving in the
// middle of a handed-off body frees everything.
func TestAppCallStreamFlowsAndClientLeaves(t *testing.T) {
	app := startRawApp(t, func(n int, req *http.Request, body []byte, w *bufio.Writer) bool {
		switch req.URL.Path {
		case "/trickle":
			w.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
			w.Flush()
			time.Sleep(400 * time.Millisecond)
			w.WriteString("4\r\nlast\r\n0\r\n\r\n")
		default:
			writeResp(w, 200, "", bytes.Repeat([]byte("y"), 900<<10))
		}
		return false
	})
	addr, s := appTestServer(t, app.port(), nil)
	c := dial(t, addr)
	fmt.Fprintf(c, "GET /call/trickle HTTP/1.1\r\nHost: x\r\n\r\n")
	start := time.Now()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first" {
		t.Fatalf("%q %v", first, err)
	}
	if d := time.Since(start); d > 300*time.Millisecond {
		t.Fatalf("first chunk after %v: held back", d)
	}
	if rest, _ := io.ReadAll(resp.Body); string(rest) != "last" {
		t.Fatalf("rest %q", rest)
	}

	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /call/big HTTP/1.1\r\nHost: x\r\n\r\n")
		buf := make([]byte, 1024)
		if _, err := io.ReadAtLeast(c, buf, 1); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for s.InFlight() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests still in flight", s.InFlight())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
