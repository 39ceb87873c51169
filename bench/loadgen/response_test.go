package loadgen

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

func TestParseHead(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		status  int
		bodyLen int64
		close   bool
		bad     bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, 5, false, false},
		{"case", "HTTP/1.1 201 Created\r\ncOnTeNt-LeNgTh:  12 \r\n\r\n", 201, 12, false, false},
		{"no content", "HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n", 204, 0, false, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200, -1, false, false},
		{"close", "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 500, 0, true, false},
		{"no reason", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 404, 0, false, false},
		{"no length", "HTTP/1.1 200 OK\r\n\r\n", 0, 0, false, true},
		{"garbage", "HTTX/1.1 200 OK\r\n\r\n", 0, 0, false, true},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 0, 0, false, true},
	}
	for _, c := range cases {
		h, ok, err := parseHead([]byte(c.in))
		if c.bad {
			if err == nil {
				t.Errorf("%s: want error, got %+v", c.name, h)
			}
			continue
		}
		if err != nil || !ok {
			t.Errorf("%s: ok=%v err=%v", c.name, ok, err)
			continue
		}
		if h.status != c.status || h.bodyLen != c.bodyLen || h.close != c.close {
			t.Errorf("%s: got %+v", c.name, h)
		}
		if !strings.HasPrefix(c.in[h.size:], "") || !strings.HasSuffix(c.in[:h.size], "\r\n\r\n") {
			t.Errorf("%s: head size %d", c.name, h.size)
		}
	}
	if _, ok, err := parseHead([]byte("HTTP/1.1 200 OK\r\nContent-Le")); ok || err != nil {
		t.Errorf("partial head: ok=%v err=%v", ok, err)
	}
}

// trickle hands out its data n bytes per Read, to exercise every split.
type trickle struct {
	net.Conn // nil; only Read is used
	data     []byte
	n        int
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.data) == 0 {
		return 0, io.EOF
	}
	k := min(t.n, len(p), len(t.data))
	copy(p, t.data[:k])
	t.data = t.data[k:]
	return k, nil
}

func TestReadResponseSplits(t *testing.T) {
	stream := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\n" +
		"HTTP/1.1 204 No Content\r\n\r\n" +
		"HTTP/1.1 503 Busy\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye"
	want := []struct {
		status int
		close  bool
	}{{200, false}, {200, false}, {204, false}, {503, true}}
	for _, n := range []int{1, 2, 3, 7, 64, 4096} {
		cl := newClient(&trickle{data: []byte(stream), n: n})
		cl.buf = make([]byte, 64) // small, to force compaction and growth
		for i, w := range want {
			status, closeConn, err := cl.readResponse()
			if err != nil || status != w.status || closeConn != w.close {
				t.Fatalf("split %d, response %d: status %d close %v err %v", n, i, status, closeConn, err)
			}
		}
		if cl.r != cl.w {
			t.Fatalf("split %d: %d bytes left over", n, cl.w-cl.r)
		}
		if _, _, err := cl.readResponse(); err == nil {
			t.Fatalf("split %d: read past the end without error", n)
		}
	}
}

// TestStepSplits feeds the epoll engine's resumable parser the same stream
// in pieces of every size.
func TestStepSplits(t *testing.T) {
	stream := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n" +
		"HTTP/1.1 204 No Content\r\n\r\n" +
		"HTTP/1.1 503 Busy\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye"
	want := []int{200, 200, 204, 503}
	for _, n := range []int{1, 2, 5, 64, 4096} {
		c := &econn{buf: make([]byte, 32)}
		data := []byte(stream)
		var got []int
		lastClose := false
		for len(data) > 0 {
			room, err := c.room()
			if err != nil {
				t.Fatal(err)
			}
			k := copy(room, data[:min(n, len(data))])
			data = data[k:]
			c.w += k
			for {
				done, status, closeConn, err := c.step()
				if err != nil {
					t.Fatalf("split %d: %v", n, err)
				}
				if !done {
					break
				}
				got = append(got, status)
				lastClose = closeConn
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || !lastClose {
			t.Fatalf("split %d: statuses %v, last close %v", n, got, lastClose)
		}
	}
}

func TestChunkedBad(t *testing.T) {
	var cs chunkState
	if _, err := cs.consume([]byte("zz\r\n")); err == nil {
		t.Fatal("bad chunk size accepted")
	}
}

func TestEncode(t *testing.T) {
	got := string(Request{Method: "POST", Path: "/v1.0/state/s", Host: "h:1", Body: []byte(`[1]`),
		Header: []Header{{"X-A", "b"}}}.Encode())
	want := "POST /v1.0/state/s HTTP/1.1\r\nHost: h:1\r\nX-A: b\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n[1]"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if got := string((Request{Host: "h"}).Encode()); got != "GET / HTTP/1.1\r\nHost: h\r\n\r\n" {
		t.Fatalf("GET: %q", got)
	}
	if got := (Request{Method: "POST", Host: "h"}).Encode(); !bytes.Contains(got, []byte("Content-Length: 0\r\n")) {
		t.Fatalf("empty POST lacks a length: %q", got)
	}
}

func TestParseTarget(t *testing.T) {
	tg, err := ParseTarget("http://127.0.0.1:3500/v1.0/healthz?x=1", "")
	if err != nil || tg.Network != "tcp" || tg.Addr != "127.0.0.1:3500" || tg.Path != "/v1.0/healthz?x=1" {
		t.Fatalf("%+v %v", tg, err)
	}
	tg, err = ParseTarget("http://localhost/", "/tmp/s.sock")
	if err != nil || tg.Network != "unix" || tg.Addr != "/tmp/s.sock" || tg.Host != "localhost" {
		t.Fatalf("%+v %v", tg, err)
	}
	if _, err := ParseTarget("https://x/", ""); err == nil {
		t.Fatal("https accepted")
	}
}
