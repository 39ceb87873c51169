package http1

import (
	"strings"
	"testing"
)

func TestResponseParse(t *testing.T) {
	type rw struct {
		status, minor int
		cl            int64
		chunked, ka   bool
		reason        string
	}
	cases := []struct {
		in   string
		want rw
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n", rw{200, 1, 5, false, true, "OK"}},
		{"HTTP/1.1 204 No Content\r\n\r\n", rw{204, 1, -1, false, true, "No Content"}},
		{"HTTP/1.1 200\r\n\r\n", rw{200, 1, -1, false, true, ""}},
		{"HTTP/1.1 200 \r\n\r\n", rw{200, 1, -1, false, true, ""}},
		{"HTTP/1.1 404 Not\tFound here\n\n", rw{404, 1, -1, false, true, "Not\tFound here"}},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", rw{200, 1, -1, true, true, "OK"}},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n", rw{200, 1, -1, true, false, "OK"}},
		{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", rw{200, 1, -1, false, false, "OK"}},
		{"HTTP/1.0 200 OK\r\n\r\n", rw{200, 0, -1, false, false, "OK"}},
		{"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", rw{200, 0, 0, false, true, "OK"}},
		{"HTTP/1.1 599 Custom Thing\r\n\r\n", rw{599, 1, -1, false, true, "Custom Thing"}},
		{"HTTP/1.1 100 Continue\r\n\r\n", rw{100, 1, -1, false, true, "Continue"}},
	}
	for _, c := range cases {
		in := c.in + "BODY"
		for split := 0; split <= len(c.in); split++ {
			var r Response
			n, err := r.Parse([]byte(in[:split]), 0)
			if split < len(c.in) {
				if err != ErrNeedMore {
					t.Fatalf("%q split %d: %v", c.in, split, err)
				}
				n, err = r.Parse([]byte(in), 0)
			}
			if err != nil || n != len(c.in) || r.HeadLen != n {
				t.Fatalf("%q split %d: n=%d err=%v", c.in, split, n, err)
			}
			got := rw{r.Status, r.ProtoMinor, r.ContentLength, r.Chunked, r.KeepAlive, string(r.Reason())}
			if got != c.want {
				t.Fatalf("%q: got %+v want %+v", c.in, got, c.want)
			}
		}
	}
}

func TestResponseHeaders(t *testing.T) {
	in := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-A: 1\r\nx-a: 2\r\nETag: \"7\"\r\n\r\n")
	var r Response
	if _, err := r.Parse(in, 0); err != nil {
		t.Fatal(err)
	}
	if string(r.Header("content-type")) != "application/json" || string(r.Header("X-A")) != "1" ||
		string(r.Header("etag")) != `"7"` || r.Header("nope") != nil || r.NumHeaders() != 4 {
		t.Fatalf("headers: %q %q %q", r.Header("content-type"), r.Header("X-A"), r.Header("etag"))
	}
	if n, v := r.HeaderAt(2); string(n) != "x-a" || string(v) != "2" {
		t.Fatalf("HeaderAt: %q %q", n, v)
	}
	if n, v := r.HeaderAt(4); n != nil || v != nil {
		t.Fatal("HeaderAt out of range")
	}
	cp := append([]byte(nil), in...)
	r.Rebase(cp)
	in[20] = 'Z'
	if string(r.Header("content-type")) != "application/json" || &r.Buf()[0] != &cp[0] {
		t.Fatal("Rebase")
	}
	// The next Parse starts a new message and reuses header storage.
	if _, err := r.Parse([]byte("HTTP/1.1 204 No Content\r\n\r\n"), 0); err != nil || r.NumHeaders() != 0 || r.Status != 204 {
		t.Fatalf("second message: %v", err)
	}
}

func TestResponseInvalid(t *testing.T) {
	cases := []string{
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 abc OK\r\n\r\n",
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/1.1\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"ICY 200 OK\r\n\r\n",
		"HTTP/1.1 200 O\x00K\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	}
	for _, in := range cases {
		var r Response
		if _, err := r.Parse([]byte(in), 0); statusOf(err) != 502 {
			t.Errorf("%q: %v", in, err)
		}
	}
	var r Response
	big := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("v", 100) + "\r\n\r\n"
	if _, err := r.Parse([]byte(big[:60]), 60); statusOf(err) != 502 {
		t.Errorf("too large: %v", err)
	}
	r.Reset()
	var sb strings.Builder
	sb.WriteString("HTTP/1.1 200 OK\r\n")
	for i := 0; i <= maxResponseFields; i++ {
		sb.WriteString("X: v\r\n")
	}
	if _, err := r.Parse([]byte(sb.String()), 0); statusOf(err) != 502 {
		t.Errorf("too many fields: %v", err)
	}
}

func TestResponseHasBody(t *testing.T) {
	for _, c := range []struct {
		status          int
		head, has, till bool
	}{
		{100, false, false, false}, {101, false, false, false}, {200, false, true, true},
		{200, true, false, false}, {204, false, false, false}, {304, false, false, false},
		{404, false, true, true}, {500, false, true, true},
	} {
		r := Response{Status: c.status, ContentLength: -1}
		if r.HasBody(c.head) != c.has || r.BodyUntilClose(c.head) != c.till {
			t.Errorf("%d head=%v: HasBody=%v BodyUntilClose=%v", c.status, c.head, r.HasBody(c.head), r.BodyUntilClose(c.head))
		}
	}
	r := Response{Status: 200, ContentLength: 0}
	if !r.HasBody(false) || r.BodyUntilClose(false) {
		t.Error("Content-Length: 0")
	}
}

func TestResponseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("race detector allocates")
	}
	in := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n")
	var r Response
	_, _ = r.Parse(in, 0) // grows header storage once
	if a := testing.AllocsPerRun(1000, func() {
		r.Reset()
		if _, err := r.Parse(in, 0); err != nil {
			t.Fatal(err)
		}
		_ = r.Header("content-type")
	}); a != 0 {
		t.Fatalf("Response.Parse allocates %v", a)
	}
}

func BenchmarkParseResponse(b *testing.B) {
	in := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n")
	var r Response
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		r.Reset()
		if _, err := r.Parse(in, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResponseBufferMoves: a client may compact or grow its read buffer
// between calls; offsets are relative to the slice given, so parsing resumes
// correctly on a copy holding the same bytes.
func TestResponseBufferMoves(t *testing.T) {
	msg := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
	var r Response
	buf := []byte(msg[:30])
	if _, err := r.Parse(buf, 0); err != ErrNeedMore {
		t.Fatal(err)
	}
	moved := make([]byte, 0, 256)
	moved = append(moved, msg...)
	n, err := r.Parse(moved, 0)
	if err != nil || n != len(msg)-2 || string(r.Header("content-type")) != "text/plain" || r.ContentLength != 2 {
		t.Fatalf("n=%d err=%v", n, err)
	}
}
