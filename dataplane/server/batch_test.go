package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// batchServer serves /b/{n}: an Inline handler that suspends and hands its
// resume to one batch goroutine, which answers everything queued (up to
// 256) in a tight loop, as blocks/state's GetBatcher does with Redis GETs.
func batchServer(t testing.TB, loops int) string {
	t.Helper()
	type pending struct {
		c      *router.Ctx
		body   []byte
		resume func()
	}
	ch := make(chan pending, 4096)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		batch := make([]pending, 0, 256)
		for {
			batch = batch[:0]
			select {
			case <-stop:
				return
			case p := <-ch:
				batch = append(batch, p)
			}
		drain:
			for len(batch) < cap(batch) {
				select {
				case p := <-ch:
					batch = append(batch, p)
				default:
					break drain
				}
			}
			for _, p := range batch {
				p.c.Write(p.body)
				p.resume()
			}
		}
	})
	tbl := router.New()
	tbl.MustAdd(router.Route{Name: "batched", Methods: []http1.Method{http1.MethodGet}, Pattern: "/b/{n}", Handler: func(c *router.Ctx) {
		// The request is a view of gnet's buffer, valid only until the
		// handler returns: copy what the answer needs.
		ch <- pending{c, append([]byte(nil), c.Param(0)...), c.Suspend()}
	}})
	port := freePort(t)
	s := New(Config{Addrs: []string{fmt.Sprintf("tcp://127.0.0.1:%d", port)}, Table: tbl, Loops: loops})
	go s.Serve()
	<-s.Booted()
	t.Cleanup(func() {
		_ = s.Shutdown(t.Context())
		<-s.Stopped()
		close(stop)
		wg.Wait()
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// Answers completed in batches by one goroutine reach every connection, in
// request order per connection, also with pipelined requests and with
// clients that leave before their answers.
func TestBatchedResumeManyConnections(t *testing.T) {
	addr := batchServer(t, 2)
	var wg sync.WaitGroup
	errs := make(chan error, 128)
	for i := range 64 {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for j := range 40 {
				// Bursts of pipelined requests, answered in order.
				depth := 1 + j%4
				var req bytes.Buffer
				for k := range depth {
					fmt.Fprintf(&req, "GET /b/%d-%d-%d HTTP/1.1\r\nHost: x\r\n\r\n", i, j, k)
				}
				if _, err := c.Write(req.Bytes()); err != nil {
					errs <- err
					return
				}
				if i%8 == 7 && j == 20 {
					return // leaves with answers pending
				}
				for k := range depth {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						errs <- err
						return
					}
					b, _ := io.ReadAll(resp.Body)
					if want := fmt.Sprintf("%d-%d-%d", i, j, k); string(b) != want {
						errs <- fmt.Errorf("got %q, want %q", b, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// BenchmarkBatchedResume: 64 connections, one request each in flight, all
// answered by one batch goroutine (a Redis GET batcher's shape). Allocations
// per op include the server's and the client's.
func BenchmarkBatchedResume(b *testing.B) {
	addr := batchServer(b, 1)
	const conns = 64
	req := []byte("GET /b/x HTTP/1.1\r\nHost: x\r\n\r\n")
	var size int // the answer's length: fixed (same Date length, same body)
	{
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = c.Write(req)
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			b.Fatal(err)
		}
		size = n
		c.Close()
		if !bytes.HasSuffix(buf[:n], []byte("\r\n\r\nx")) {
			b.Fatalf("answer %q", buf[:n])
		}
	}
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
	}
	var next sync.Mutex
	left := b.N
	take := func() bool {
		next.Lock()
		defer next.Unlock()
		left--
		return left >= 0
	}
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			buf := make([]byte, size)
			for take() {
				if _, err := c.Write(req); err != nil {
					b.Error(err)
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
