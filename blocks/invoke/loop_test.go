package invoke

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/skiffd/skiff/dataplane/server"
)

// loopServer runs the invoke routes in a real server whose loops call the
// app themselves.
func loopServer(t testing.TB, appPort int) string {
	t.Helper()
	addr, _ := loopServerWith(t, appPort, nil)
	return addr
}

// loopServerWith is loopServer with a hook on the service.
func loopServerWith(t testing.TB, appPort int, mod func(*Service)) (string, *Service) {
	t.Helper()
	svc, tbl := newService(t, appPort, nil)
	if mod != nil {
		mod(svc)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := server.New(server.Config{Addrs: []string{"tcp://" + addr}, Table: tbl, Loops: 1, AppChannel: svc.cfg.Channel})
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
	return addr, svc
}

func TestLoopInvoke(t *testing.T) {
	var got http.Header
	app := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		w.Write(append([]byte(r.Method+" "+r.URL.RequestURI()+" "), b...))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Serve(ln)
	t.Cleanup(func() { app.Close() })
	addr := loopServer(t, ln.Addr().(*net.TCPAddr).Port)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "POST /v1.0/invoke/myapp/method/a/b?x=1 HTTP/1.1\r\nHost: h\r\nX-Mine: v\r\nDapr-Caller-App-Id: spoof\r\nContent-Length: 3\r\n\r\nabc")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "POST /a/b?x=1 abc" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("%d %q %v", resp.StatusCode, body, resp.Header)
	}
	if got.Get("X-Mine") != "v" || got.Get("Dapr-Caller-App-Id") != appID || got.Get("Dapr-Callee-App-Id") != appID {
		t.Fatalf("app saw %v", got)
	}
	// Another app id is refused on the loop, as on a worker.
	fmt.Fprintf(c, "GET /v1.0/invoke/other/method/a HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || !bytes.Contains(body, []byte("couldn't find service: other")) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

// TestLoopInvokeAllocs: a whole in-loop invoke round trip (client → loop →
// app → loop → client) allocates nothing once warm. AllocsPerRun counts
// every goroutine: the client and app here allocate nothing either.
func TestLoopInvokeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations under -race")
	}
	addr := loopServer(t, cannedApp(t))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("POST /v1.0/invoke/myapp/method/neworder HTTP/1.1\r\nHost: localhost:3500\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"orderId\":1}")
	buf := make([]byte, 4096)
	want := []byte("\r\n\r\n{\"ok\":true}")
	run := func() {
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		have := 0
		for !bytes.HasSuffix(buf[:have], want) {
			n, err := c.Read(buf[have:])
			if err != nil {
				t.Fatal(err)
			}
			have += n
		}
		if !bytes.HasPrefix(buf, []byte("HTTP/1.1 200 OK\r\n")) {
			t.Fatalf("%q", buf[:have])
		}
	}
	for i := 0; i < 100; i++ {
		run()
	}
	if n := testing.AllocsPerRun(500, run); n != 0 {
		t.Errorf("%v allocations per in-loop invoke, want 0", n)
	}
}
