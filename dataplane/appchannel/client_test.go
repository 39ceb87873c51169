package appchannel

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// pattern returns n deterministic bytes that catch shifted or lost ranges.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

type testApp struct {
	srv      *httptest.Server
	conns    atomic.Int32
	inflight atomic.Int32
	maxSeen  atomic.Int32
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	a := &testApp{}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-URI", r.RequestURI)
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("X-CL", strconv.FormatInt(r.ContentLength, 10))
		w.Header().Set("X-TE", strings.Join(r.TransferEncoding, ","))
		for k, v := range r.Header {
			w.Header()["X-Req-"+k] = v
		}
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		_, _ = w.Write(body)
	})
	mux.HandleFunc("/sum", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		fmt.Fprintf(w, "%d %s %s", len(body), sum(body), strings.Join(r.TransferEncoding, ","))
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		_, _ = w.Write([]byte("status body"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = w.Write(pattern(n))
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		p := pattern(n)
		f := w.(http.Flusher)
		for len(p) > 0 {
			k := min(len(p), 10000)
			_, _ = w.Write(p[:k])
			f.Flush()
			p = p[k:]
		}
	})
	mux.HandleFunc("/smallchunked", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello "))
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte("world"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		n := a.inflight.Add(1)
		for {
			m := a.maxSeen.Load()
			if n <= m || a.maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-r.Context().Done():
		}
		a.inflight.Add(-1)
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/hangbody", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		_, _ = w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	a.srv = httptest.NewUnstartedServer(mux)
	a.srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			a.conns.Add(1)
		}
	}
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	return a
}

func (a *testApp) port() int { return a.srv.Listener.Addr().(*net.TCPAddr).Port }

func newClient(t *testing.T, port int, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{Port: port}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// do runs one call and returns status, headers of interest and the body.
func do(t *testing.T, c *Client, req *Request) (*Response, []byte) {
	t.Helper()
	resp := new(Response)
	if err := c.Do(context.Background(), req, resp); err != nil {
		t.Fatalf("Do: %v", err)
	}
	var body []byte
	if resp.BodyStream != nil {
		var err error
		body, err = io.ReadAll(resp.BodyStream)
		if err != nil {
			t.Fatalf("read body: %v", err)
		}
	} else {
		body = append([]byte(nil), resp.Body...)
	}
	return resp, body
}

func TestNewRejectsProtocol(t *testing.T) {
	for _, p := range []string{"grpc", "https", "h2c", "grpcs"} {
		if _, err := New(Config{Port: 1, Protocol: p}); err == nil {
			t.Errorf("protocol %q accepted", p)
		}
	}
	if _, err := New(Config{Port: 0}); err == nil {
		t.Error("port 0 accepted")
	}
}

func TestRequestResponseRoundTrip(t *testing.T) {
	app := newTestApp(t)
	c := newClient(t, app.port(), nil)
	req := &Request{Method: []byte("PATCH"), Path: []byte("/echo/a%2Fb/c%20d"), Query: []byte("x=1&y=%20z")}
	req.AddHeaderString("Content-Type", "application/json")
	req.AddHeaderString("X-Multi", "1")
	req.AddHeaderString("X-Multi", "2")
	req.Body = []byte(`{"a":1}`)
	resp, body := do(t, c, req)
	defer resp.Close()
	if resp.Status != 200 || string(body) != `{"a":1}` {
		t.Fatalf("status %d body %q", resp.Status, body)
	}
	checks := map[string]string{
		"X-Method":           "PATCH",
		"X-URI":              "/echo/a%2Fb/c%20d?x=1&y=%20z",
		"X-Host":             c.Addr(),
		"X-CL":               "7",
		"X-Req-Content-Type": "application/json",
	}
	for k, want := range checks {
		if got := string(resp.Header(k)); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	var multi, cookies []string
	for i := 0; i < resp.NumHeaders(); i++ {
		n, v := resp.HeaderAt(i)
		switch strings.ToLower(string(n)) {
		case "x-req-x-multi":
			multi = append(multi, string(v))
		case "set-cookie":
			cookies = append(cookies, string(v))
		}
	}
	if strings.Join(multi, ",") != "1,2" || strings.Join(cookies, ",") != "a=1,b=2" {
		t.Errorf("multi %v cookies %v", multi, cookies)
	}
}

func TestGetHasNoContentLength(t *testing.T) {
	app := newTestApp(t)
	c := newClient(t, app.port(), nil)
	resp, _ := do(t, c, &Request{Method: []byte("GET"), Path: []byte("/echo/")})
	defer resp.Close()
	if got := string(resp.Header("X-CL")); got != "0" {
		t.Errorf("GET content length %q", got)
	}
	if te := string(resp.Header("X-TE")); te != "" {
		t.Errorf("GET transfer-encoding %q", te)
	}
}

func TestStatusPassThrough(t *testing.T) {
	app := newTestApp(t)
	c := newClient(t, app.port(), nil)
	for _, code := range []int{201, 204, 404, 500, 503} {
		resp, body := do(t, c, &Request{Method: []byte("GET"), Path: []byte("/status/" + strconv.Itoa(code))})
		want := "status body"
		if code == 204 {
			want = ""
		}
		if resp.Status != code || string(body) != want {
			t.Errorf("code %d: got %d %q", code, resp.Status, body)
		}
		resp.Close()
	}
	if n := app.conns.Load(); n != 1 {
		t.Errorf("%d connections for sequential calls, want 1 (keep-alive)", n)
	}
}

func TestHEAD(t *testing.T) {
	app := newTestApp(t)
	c := newClient(t, app.port(), nil)
	for i := 0; i < 2; i++ {
		resp, body := do(t, c, &Request{Method: []byte("HEAD"), Path: []byte("/big"), Query: []byte("n=5000")})
		if resp.Status != 200 || len(body) != 0 || resp.ContentLength != 5000 {
			t.Fatalf("HEAD: %d %d %d", resp.Status, len(body), resp.ContentLength)
		}
		resp.Close()
	}
	if n := app.conns.Load(); n != 1 {
		t.Errorf("%d connections", n)
	}
}

func TestBigBodies(t *testing.T) {
	app := newTestApp(t)
	c := newClient(t, app.port(), nil)
	const n = 8 << 20
	big := pattern(n)
	want := fmt.Sprintf("%d %s ", n, sum(big))

	t.Run("request body in memory", func(t *testing.T) {
		resp, body := do(t, c, &Request{Method: []byte("POST"), Path: []byte("/sum"), Body: big})
		resp.Close()
		if string(body) != want {
			t.Fatalf("got %q want %q", body, want)
		}
	})
	t.Run("request stream with length", func(t *testing.T) {
		resp, body := do(t, c, &Request{Method: []byte("POST"), Path: []byte("/sum"),
			BodyStream: iotest{r: bytes.NewReader(big)}, ContentLength: n})
		resp.Close()
		if string(body) != want {
			t.Fatalf("got %q want %q", body, want)
		}
	})
	t.Run("request stream chunked", func(t *testing.T) {
		resp, body := do(t, c, &Request{Method: []byte("PUT"), Path: []byte("/sum"),
			BodyStream: iotest{r: bytes.NewReader(big)}, ContentLength: -1})
		resp.Close()
		if string(body) != fmt.Sprintf("%d %s chunked", n, sum(big)) {
			t.Fatalf("got %q", body)
		}
	})
	t.Run("response with length", func(t *testing.T) {
		resp, body := do(t, c, &Request{Method: []byte("GET"), Path: []byte("/big"), Query: []byte("n=" + strconv.Itoa(n))})
		if resp.BodyStream == nil || resp.ContentLength != n {
			t.Fatalf("big response not streamed: %d", resp.ContentLength)
		}
		resp.Close()
		if !bytes.Equal(body, big) {
			t.Fatal("response body differs")
		}
	})
	t.Run("response chunked", func(t *testing.T) {
		resp, body := do(t, c, &Request{Method: []byte("GET"), Path: []byte("/chunked"), Query: []byte("n=" + strconv.Itoa(n))})
		if resp.ContentLength != -1 {
			t.Fatalf("content length %d", resp.ContentLength)
		}
		resp.Close()
		if !bytes.Equal(body, big) {
			t.Fatal("chunked body differs")
		}
	})
	t.Run("small responses in memory", func(t *testing.T) {
		for _, sz := range []int{0, 1, 100, rbufSize, 40000, smallBody} {
			resp, body := do(t, c, &Request{Method: []byte("GET"), Path: []byte("/big"), Query: []byte("n=" + strconv.Itoa(sz))})
			if resp.BodyStream != nil {
				t.Errorf("size %d streamed", sz)
			}
			resp.Close()
			if !bytes.Equal(body, pattern(sz)) {
				t.Errorf("size %d differs", sz)
			}
		}
	})
	if n := app.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// iotest hides bytes.Reader's WriteTo so the client's own loop is tested.
type iotest struct{ r io.Reader }

func (r iotest) Read(p []byte) (int, error) { return r.r.Read(p) }

func TestSmallChunkedResponse(t *testing.T) {
	app := newTestApp(t)
	c := newClient(t, app.port(), nil)
	resp, body := do(t, c, &Request{Method: []byte("GET"), Path: []byte("/smallchunked")})
	defer resp.Close()
	if string(body) != "hello world" {
		t.Fatalf("body %q", body)
	}
}

// rawApp is a TCP app driven by a function per connection.
func rawApp(t *testing.T, serve func(n int, c net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(i, c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// readHead reads one request head (requests here carry no body).
func readHead(br *bufio.Reader) error {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			return nil
		}
	}
}

const okResp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func TestStaleIdleConnectionIsNotUsed(t *testing.T) {
	// The app answers one request per connection, then closes it while
	// it sits idle in our pool (as Node's keepAliveTimeout does).
	port := rawApp(t, func(_ int, c net.Conn) {
		defer c.Close()
		if readHead(bufio.NewReader(c)) == nil {
			_, _ = c.Write([]byte(okResp))
		}
	})
	c := newClient(t, port, nil)
	for i := 0; i < 3; i++ {
		// POST is never retried: success proves the dead connection was
		// detected before anything was written to it.
		resp := new(Response)
		if err := c.Do(context.Background(), &Request{Method: []byte("POST"), Path: []byte("/")}, resp); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		resp.Close()
		time.Sleep(20 * time.Millisecond) // let the FIN arrive
	}
}

func TestRetryRule(t *testing.T) {
	// Each connection answers its first request, then on the second one
	// closes without answering: the race the peek cannot see.
	var requests atomic.Int32
	port := rawApp(t, func(_ int, c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		if readHead(br) != nil {
			return
		}
		requests.Add(1)
		_, _ = c.Write([]byte(okResp))
		if readHead(br) != nil {
			return
		}
		requests.Add(1)
	})
	for _, tc := range []struct {
		method string
		hdr    string
		retry  bool
	}{
		{"GET", "", true},
		{"HEAD", "", true},
		{"POST", "", false},
		{"DELETE", "", false},
		{"POST", "Idempotency-Key", true},
	} {
		t.Run(tc.method+tc.hdr, func(t *testing.T) {
			c := newClient(t, port, nil)
			resp := new(Response)
			first := &Request{Method: []byte("GET"), Path: []byte("/")}
			if err := c.Do(context.Background(), first, resp); err != nil {
				t.Fatal(err)
			}
			resp.Close()
			req := &Request{Method: []byte(tc.method), Path: []byte("/"), Body: nil}
			if tc.hdr != "" {
				req.AddHeaderString(tc.hdr, "k1")
			}
			before := requests.Load()
			err := c.Do(context.Background(), req, resp)
			if tc.retry {
				if err != nil {
					t.Fatalf("idempotent request not retried: %v", err)
				}
				resp.Close()
				if got := requests.Load() - before; got != 2 {
					t.Errorf("app saw %d requests, want 2", got)
				}
			} else {
				if err == nil {
					resp.Close()
					t.Fatal("non-idempotent request was retried")
				}
				if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("error %v", err)
				}
			}
		})
	}
}

func TestStreamBodyNeverRetried(t *testing.T) {
	port := rawApp(t, func(_ int, c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		if readHead(br) != nil {
			return
		}
		_, _ = c.Write([]byte(okResp))
		_ = readHead(br)
	})
	c := newClient(t, port, nil)
	resp := new(Response)
	if err := c.Do(context.Background(), &Request{Method: []byte("GET"), Path: []byte("/")}, resp); err != nil {
		t.Fatal(err)
	}
	resp.Close()
	err := c.Do(context.Background(), &Request{Method: []byte("GET"), Path: []byte("/"),
		BodyStream: strings.NewReader("x"), ContentLength: -1}, resp)
	if err == nil {
		resp.Close()
		t.Fatal("streamed request retried")
	}
}

func TestAppDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	c := newClient(t, port, nil)
	err := c.Do(context.Background(), &Request{Method: []byte("POST"), Path: []byte("/neworder")}, new(Response))
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error %v", err)
	}
	want := fmt.Sprintf(`Post "http://127.0.0.1:%d/neworder": dial tcp 127.0.0.1:%d: connect: connection refused`, port, port)
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	if c.Probe(context.Background()) == nil {
		t.Error("probe succeeded on a closed port")
	}
	app := newTestApp(t)
	if err := newClient(t, app.port(), nil).Probe(context.Background()); err != nil {
		t.Errorf("probe: %v", err)
	}
}

func TestMaxConcurrency(t *testing.T) {
	app := newTestApp(t)
	c := newClient(t, app.port(), func(cfg *Config) { cfg.MaxConcurrency = 2 })
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := new(Response)
			if err := c.Do(context.Background(), &Request{Method: []byte("GET"), Path: []byte("/slow")}, resp); err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, bytes.NewReader(resp.Body))
			resp.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m := app.maxSeen.Load(); m != 2 {
		t.Errorf("app saw %d concurrent calls, want 2", m)
	}
}

func TestMaxConcurrencyWaitHonoursContext(t *testing.T) {
	app := newTestApp(t)
	c := newClient(t, app.port(), func(cfg *Config) { cfg.MaxConcurrency = 1 })
	hold := new(Response)
	if err := c.Do(context.Background(), &Request{Method: []byte("GET"), Path: []byte("/status/200")}, hold); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err := c.Do(ctx, &Request{Method: []byte("GET"), Path: []byte("/status/200")}, new(Response))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting for a slot: %v", err)
	}
	hold.Close()
	resp := new(Response)
	if err := c.Do(context.Background(), &Request{Method: []byte("GET"), Path: []byte("/status/200")}, resp); err != nil {
		t.Fatal(err)
	}
	resp.Close()
}

func TestCancellation(t *testing.T) {
	app := newTestApp(t)
	c := newClient(t, app.port(), nil)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start := time.Now()
	err := c.Do(ctx, &Request{Method: []byte("GET"), Path: []byte("/hang")}, new(Response))
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("cancel while waiting for the head: %v after %v", err, time.Since(start))
	}

	ctx, cancel = context.WithCancel(context.Background())
	resp := new(Response)
	if err := c.Do(ctx, &Request{Method: []byte("GET"), Path: []byte("/hangbody")}, resp); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(30*time.Millisecond, cancel)
	_, err = io.ReadAll(resp.BodyStream)
	if err == nil {
		t.Fatal("body read survived cancellation")
	}
	resp.Close()

	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err = c.Do(ctx, &Request{Method: []byte("GET"), Path: []byte("/hang")}, new(Response))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}

	// The pool still works afterwards.
	resp, body := do(t, c, &Request{Method: []byte("GET"), Path: []byte("/status/200")})
	resp.Close()
	if string(body) != "status body" {
		t.Fatal(string(body))
	}
}

func TestAppToken(t *testing.T) {
	app := newTestApp(t)
	c := newClient(t, app.port(), func(cfg *Config) { cfg.AppAPIToken = "s3cret" })
	resp, _ := do(t, c, &Request{Method: []byte("GET"), Path: []byte("/echo/")})
	defer resp.Close()
	if got := string(resp.Header("X-Req-Dapr-Api-Token")); got != "s3cret" {
		t.Errorf("token %q", got)
	}
}

// cannedApp answers every request head with a fixed response and allocates
// nothing per request, so AllocsPerRun sees only the client.
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
				buf := make([]byte, 4096)
				resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
				have := 0
				for {
					n, err := c.Read(buf[have:])
					if err != nil {
						return
					}
					have += n
					for {
						i := bytes.Index(buf[:have], []byte("\r\n\r\n"))
						if i < 0 {
							break
						}
						// Requests carry Content-Length bodies here.
						end := i + 4
						if j := bytes.Index(buf[:i], []byte("Content-Length: ")); j >= 0 {
							k := j + len("Content-Length: ")
							l := 0
							for buf[k] >= '0' && buf[k] <= '9' {
								l = l*10 + int(buf[k]-'0')
								k++
							}
							end += l
						}
						if end > have {
							break
						}
						if _, err := c.Write(resp); err != nil {
							return
						}
						copy(buf, buf[end:have])
						have -= end
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestRoundTripAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations under -race")
	}
	c := newClient(t, cannedApp(t), nil)
	req := &Request{Method: []byte("POST"), Path: []byte("/neworder"), Body: []byte(`{"orderId":1}`)}
	req.AddHeaderString("Content-Type", "application/json")
	resp := new(Response)
	ctx := context.Background()
	call := func() {
		if err := c.Do(ctx, req, resp); err != nil {
			t.Fatal(err)
		}
		if string(resp.Body) != `{"ok":true}` {
			t.Fatalf("body %q", resp.Body)
		}
		resp.Close()
	}
	call()
	if n := testing.AllocsPerRun(200, call); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	c, err := New(Config{Port: cannedApp(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := &Request{Method: []byte("POST"), Path: []byte("/neworder"), Body: []byte(`{"orderId":1}`)}
	req.AddHeaderString("Content-Type", "application/json")
	resp := new(Response)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Do(ctx, req, resp); err != nil {
			b.Fatal(err)
		}
		resp.Close()
	}
}
