package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testServer starts a server with routes exercising every mode.
func testServer(t testing.TB, mutate func(*Config)) (addr string, s *Server) {
	t.Helper()
	tbl := router.New()
	get := []http1.Method{http1.MethodGet, http1.MethodHead}
	post := []http1.Method{http1.MethodPost, http1.MethodPut}
	tbl.MustAdd(
		router.Route{Name: "hello", Methods: get, Pattern: "/hello/{name}", Handler: func(c *router.Ctx) {
			c.SetHeader("Content-Type", "text/plain")
			c.WriteString("hello " + string(c.Param(0)))
		}},
		router.Route{Name: "echo", Methods: post, Pattern: "/echo", Handler: func(c *router.Ctx) {
			c.Write(c.Body)
		}},
		router.Route{Name: "slow", Methods: get, Pattern: "/slow/{ms}", Mode: router.Async, Handler: func(c *router.Ctx) {
			ms, _ := strconv.Atoi(string(c.Param(0)))
			time.Sleep(time.Duration(ms) * time.Millisecond)
			c.WriteString("slept " + string(c.Param(0)))
		}},
		router.Route{Name: "offload", Methods: get, Pattern: "/offload", Handler: func(c *router.Ctx) {
			c.Offload(func(c *router.Ctx) { c.WriteString("offloaded " + string(c.Req.Path())) })
		}},
		router.Route{Name: "sum", Methods: post, Pattern: "/sum", Mode: router.Stream, Handler: func(c *router.Ctx) {
			var r io.Reader = bytes.NewReader(c.Body)
			if c.BodyStream != nil {
				r = c.BodyStream
			}
			n, err := io.Copy(io.Discard, r)
			if err != nil {
				c.SetStatus(400)
				c.WriteString(err.Error())
				return
			}
			c.WriteString(strconv.FormatInt(n, 10))
		}},
		router.Route{Name: "big", Methods: get, Pattern: "/big/{n}", Mode: router.Async, Handler: func(c *router.Ctx) {
			n, _ := strconv.Atoi(string(c.Param(0)))
			chunked := http1.QueryGet(c.Req.Query(), "chunked") != nil
			cl := int64(n)
			if chunked {
				cl = -1
			}
			w, err := c.StartStream(cl)
			if err != nil {
				return
			}
			block := bytes.Repeat([]byte("0123456789abcdef"), 4096)
			for n > 0 {
				k := min(n, len(block))
				if _, err := w.Write(block[:k]); err != nil {
					return
				}
				n -= k
			}
			w.Close()
		}},
		router.Route{Name: "secret", Methods: get, Pattern: "/secret", Handler: func(c *router.Ctx) { c.WriteString("ok") }},
		router.Route{Name: "open", Methods: get, Pattern: "/open", NoAuth: true, Handler: func(c *router.Ctx) { c.WriteString("ok") }},
	)
	port := freePort(t)
	cfg := Config{Addrs: []string{fmt.Sprintf("tcp://127.0.0.1:%d", port)}, Table: tbl, Loops: 2, MaxBodySize: 1 << 20}
	if mutate != nil {
		mutate(&cfg)
	}
	s = New(cfg)
	go s.Serve()
	select {
	case <-s.Booted():
	case <-time.After(5 * time.Second):
		t.Fatal("server did not boot")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-s.Stopped()
	})
	return fmt.Sprintf("127.0.0.1:%d", port), s
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

func readResp(t testing.TB, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

func TestInlineAndKeepAlive(t *testing.T) {
	addr, _ := testServer(t, nil)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		fmt.Fprintf(c, "GET /hello/w%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		resp, body := readResp(t, br, "GET")
		if resp.StatusCode != 200 || body != fmt.Sprintf("hello w%d", i) {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		if resp.Header.Get("Date") == "" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("headers: %v", resp.Header)
		}
	}
}

func TestPipelinedOrderAcrossModes(t *testing.T) {
	addr, _ := testServer(t, nil)
	c := dial(t, addr)
	// A slow async request first: the inline ones behind it must wait for it.
	req := "GET /slow/50 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /offload HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde" +
		"GET /slow/1 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /hello/b HTTP/1.1\r\nHost: x\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	want := []string{"slept 50", "hello a", "offloaded /offload", "abcde", "slept 1", "hello b"}
	for i, w := range want {
		method := "GET"
		if i == 3 {
			method = "POST"
		}
		_, body := readResp(t, br, method)
		if body != w {
			t.Fatalf("response %d: got %q want %q", i, body, w)
		}
	}
}

func TestSplitAcrossReads(t *testing.T) {
	addr, _ := testServer(t, nil)
	c := dial(t, addr)
	req := "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"
	for i := 0; i < len(req); i++ {
		if _, err := c.Write([]byte{req[i]}); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	_, body := readResp(t, bufio.NewReader(c), "POST")
	if body != "hello world" {
		t.Fatalf("got %q", body)
	}
}

func TestChunkedRequest(t *testing.T) {
	addr, _ := testServer(t, nil)
	c := dial(t, addr)
	fmt.Fprint(c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	time.Sleep(10 * time.Millisecond)
	fmt.Fprint(c, "6\r\n world\r\n0\r\n\r\n")
	_, body := readResp(t, bufio.NewReader(c), "POST")
	if body != "hello world" {
		t.Fatalf("got %q", body)
	}
}

func TestErrors(t *testing.T) {
	addr, _ := testServer(t, func(c *Config) { c.MaxHeadSize = 1024 })
	cases := []struct {
		name, req string
		status    int
		code      string
	}{
		{"not found", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "ERR_NOT_FOUND"},
		{"method", "DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n", 405, "ERR_METHOD_NOT_ALLOWED"},
		// Refused heads get net/http's (daprd's) plain-text answers.
		{"garbage", "\x00\x01\x02 garbage\r\n\r\n", 400, "400 Bad Request"},
		{"head too large", "GET /hello/x HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 2000) + "\r\n\r\n", 431, "431 Request Header Fields Too Large"},
		{"body too large", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n", 413, "ERR_BODY_TOO_LARGE"},
		{"bad chunked", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n", 400, "ERR_MALFORMED_REQUEST"},
		{"smuggling", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "400 Bad Request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			if _, err := c.Write([]byte(tc.req)); err != nil {
				t.Fatal(err)
			}
			method := strings.SplitN(tc.req, " ", 2)[0]
			resp, body := readResp(t, bufio.NewReader(c), method)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.code) {
				t.Fatalf("got %d %s", resp.StatusCode, body)
			}
		})
	}
	// The server still serves everyone else.
	c := dial(t, addr)
	fmt.Fprint(c, "GET /hello/after HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := readResp(t, bufio.NewReader(c), "GET"); body != "hello after" {
		t.Fatalf("after errors: %q", body)
	}
}

func TestNotFoundKeepsConnection(t *testing.T) {
	addr, _ := testServer(t, nil)
	c := dial(t, addr)
	fmt.Fprint(c, "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /hello/k HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, _ := readResp(t, br, "POST"); resp.StatusCode != 404 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, body := readResp(t, br, "GET"); body != "hello k" {
		t.Fatalf("got %q", body)
	}
}

func TestHeadAndConnectionClose(t *testing.T) {
	addr, _ := testServer(t, nil)
	c := dial(t, addr)
	fmt.Fprint(c, "HEAD /hello/h HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := readResp(t, br, "HEAD")
	if resp.ContentLength != int64(len("hello h")) || body != "" {
		t.Fatalf("HEAD: cl %d body %q", resp.ContentLength, body)
	}
	resp, body = readResp(t, br, "GET")
	if body != "hello z" || !resp.Close {
		t.Fatalf("close: %q close=%v", body, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed: %v", err)
	}
}

func TestHTTP10(t *testing.T) {
	addr, _ := testServer(t, nil)
	c := dial(t, addr)
	fmt.Fprint(c, "GET /hello/old HTTP/1.0\r\n\r\n")
	br := bufio.NewReader(c)
	_, body := readResp(t, br, "GET")
	if body != "hello old" {
		t.Fatalf("got %q", body)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("HTTP/1.0 without keep-alive must close: %v", err)
	}
}

func TestExpectContinue(t *testing.T) {
	addr, _ := testServer(t, nil)
	c := dial(t, addr)
	fmt.Fprint(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q %v", line, err)
	}
	br.ReadString('\n')
	fmt.Fprint(c, "ping")
	if _, body := readResp(t, br, "POST"); body != "ping" {
		t.Fatalf("got %q", body)
	}
}

func TestStreamedRequestBody(t *testing.T) {
	addr, _ := testServer(t, func(c *Config) { c.MaxBodySize = 64 << 20 })
	for _, chunked := range []bool{false, true} {
		c := dial(t, addr)
		const size = 8 << 20
		payload := make([]byte, size)
		rand.Read(payload)
		go func() {
			bw := bufio.NewWriterSize(c, 64<<10)
			if chunked {
				fmt.Fprint(bw, "POST /sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
				for off := 0; off < size; off += 100000 {
					end := min(off+100000, size)
					fmt.Fprintf(bw, "%x\r\n", end-off)
					bw.Write(payload[off:end])
					bw.WriteString("\r\n")
				}
				bw.WriteString("0\r\n\r\n")
			} else {
				fmt.Fprintf(bw, "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)
				bw.Write(payload)
			}
			bw.WriteString("GET /hello/next HTTP/1.1\r\nHost: x\r\n\r\n")
			bw.Flush()
		}()
		br := bufio.NewReader(c)
		if _, body := readResp(t, br, "POST"); body != strconv.Itoa(size) {
			t.Fatalf("chunked=%v: sum %q", chunked, body)
		}
		if _, body := readResp(t, br, "GET"); body != "hello next" {
			t.Fatalf("chunked=%v: next %q", chunked, body)
		}
	}
}

func TestStreamedResponse(t *testing.T) {
	addr, _ := testServer(t, nil)
	for _, q := range []string{"", "?chunked=1"} {
		c := dial(t, addr)
		const n = 5<<20 + 123
		fmt.Fprintf(c, "GET /big/%d%s HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/after HTTP/1.1\r\nHost: x\r\n\r\n", n, q)
		br := bufio.NewReader(c)
		resp, body := readResp(t, br, "GET")
		if len(body) != n || resp.StatusCode != 200 {
			t.Fatalf("%q: got %d bytes, status %d", q, len(body), resp.StatusCode)
		}
		if q != "" && len(resp.TransferEncoding) == 0 {
			t.Fatalf("expected chunked")
		}
		if body[:16] != "0123456789abcdef" {
			t.Fatalf("content")
		}
		if _, b := readResp(t, br, "GET"); b != "hello after" {
			t.Fatalf("after: %q", b)
		}
	}
}

func TestSlowloris(t *testing.T) {
	addr, _ := testServer(t, func(c *Config) { c.HeadTimeout = 300 * time.Millisecond })
	c := dial(t, addr)
	fmt.Fprint(c, "GET /hello/slow HTTP/1.1\r\nHost: x\r\n")
	start := time.Now()
	buf := make([]byte, 1)
	_, err := c.Read(buf)
	if err == nil {
		t.Fatal("expected the connection to be closed")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v", d)
	}
	// A well-behaved client is unaffected.
	c2 := dial(t, addr)
	fmt.Fprint(c2, "GET /hello/fast HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := readResp(t, bufio.NewReader(c2), "GET"); body != "hello fast" {
		t.Fatalf("got %q", body)
	}
}

func TestClientVanishesMidBody(t *testing.T) {
	addr, s := testServer(t, func(c *Config) { c.MaxBodySize = 64 << 20 })
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		path := "/echo"
		if i%2 == 0 {
			path = "/sum"
		}
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n", path)
		c.Write(make([]byte, 300000))
		c.Close()
	}
	c := dial(t, addr)
	fmt.Fprint(c, "GET /hello/alive HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := readResp(t, bufio.NewReader(c), "GET"); body != "hello alive" {
		t.Fatalf("got %q", body)
	}
	deadline := time.Now().Add(3 * time.Second)
	for s.InFlight() > 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.InFlight(); n > 1 {
		t.Fatalf("in-flight requests leaked: %d", n)
	}
}

func TestAPIToken(t *testing.T) {
	addr, _ := testServer(t, func(c *Config) { c.APIToken = "s3cret" })
	c := dial(t, addr)
	br := bufio.NewReader(c)
	fmt.Fprint(c, "GET /secret HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := readResp(t, br, "GET"); resp.StatusCode != 401 {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	fmt.Fprint(c, "GET /secret HTTP/1.1\r\nHost: x\r\ndapr-api-token: s3cret\r\n\r\n")
	if resp, _ := readResp(t, br, "GET"); resp.StatusCode != 200 {
		t.Fatalf("token: %d", resp.StatusCode)
	}
	fmt.Fprint(c, "GET /open HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := readResp(t, br, "GET"); resp.StatusCode != 200 {
		t.Fatalf("NoAuth route: %d", resp.StatusCode)
	}
}

func TestManyConnections(t *testing.T) {
	addr, _ := testServer(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for j := 0; j < 50; j++ {
				path := fmt.Sprintf("/hello/%d-%d", i, j)
				if j%5 == 0 {
					path = "/slow/0"
				}
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				if j%5 != 0 && string(b) != "hello "+path[7:] {
					errs <- fmt.Errorf("got %q for %s", b, path)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestGracefulShutdownWaitsForInFlight(t *testing.T) {
	addr, s := testServer(t, nil)
	c := dial(t, addr)
	fmt.Fprint(c, "GET /slow/200 HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(20 * time.Millisecond)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	_, body := readResp(t, bufio.NewReader(c), "GET")
	if body != "slept 200" {
		t.Fatalf("in-flight request lost: %q", body)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestStreamedChunkedBodyIsBounded(t *testing.T) {
	addr, _ := testServer(t, func(c *Config) { c.MaxBodySize = 1 << 20 })
	c := dial(t, addr)
	go func() {
		fmt.Fprint(c, "POST /sum HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := make([]byte, 64<<10)
		for i := 0; i < 64; i++ { // 4 MiB, four times the limit
			fmt.Fprintf(c, "%x\r\n", len(chunk))
			if _, err := c.Write(chunk); err != nil {
				return
			}
			fmt.Fprint(c, "\r\n")
		}
	}()
	resp, body := readResp(t, bufio.NewReader(c), "POST")
	if resp.StatusCode != 413 || !strings.Contains(body, "ERR_BODY_TOO_LARGE") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}
