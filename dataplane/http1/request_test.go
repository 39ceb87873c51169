package http1

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// daprGet is what a Dapr SDK (here the Go SDK over net/http) sends for a
// state GET: the typical request the hot path is tuned for.
const daprGet = "GET /v1.0/state/statestore/k1?consistency=strong&metadata.ttl=10 HTTP/1.1\r\n" +
	"Host: 127.0.0.1:3500\r\n" +
	"User-Agent: dapr-sdk-go/v1.12.0\r\n" +
	"Accept: application/json\r\n" +
	"Accept-Encoding: gzip\r\n" +
	"Dapr-Api-Token: 0123456789abcdef\r\n" +
	"Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n" +
	"Content-Type: application/json\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n"

func parseAll(t *testing.T, s string) (*Request, int, error) {
	t.Helper()
	var r Request
	n, err := r.Parse([]byte(s), 0)
	return &r, n, err
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func TestParseTypical(t *testing.T) {
	r, n, err := parseAll(t, daprGet)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(daprGet) || r.HeadLen != n {
		t.Fatalf("n=%d HeadLen=%d want %d", n, r.HeadLen, len(daprGet))
	}
	check := func(what string, got []byte, want string) {
		t.Helper()
		if string(got) != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("Method", r.Method(), "GET")
	check("Target", r.Target(), "/v1.0/state/statestore/k1?consistency=strong&metadata.ttl=10")
	check("Path", r.Path(), "/v1.0/state/statestore/k1")
	check("Query", r.Query(), "consistency=strong&metadata.ttl=10")
	check("host", r.Header("host"), "127.0.0.1:3500")
	check("DAPR-API-TOKEN", r.Header("DAPR-API-TOKEN"), "0123456789abcdef")
	check("traceparent", r.Header("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if r.Header("X-Missing") != nil {
		t.Error("absent header not nil")
	}
	if r.MethodID != MethodGet || r.ProtoMinor != 1 || r.ContentLength != -1 || r.Chunked || !r.KeepAlive || r.Expect100 || r.Upgrade {
		t.Errorf("flags: %+v", r)
	}
	if r.NumHeaders() != 8 {
		t.Errorf("NumHeaders = %d", r.NumHeaders())
	}
	name, value := r.HeaderAt(1)
	check("HeaderAt(1) name", name, "User-Agent")
	check("HeaderAt(1) value", value, "dapr-sdk-go/v1.12.0")
	if n, v := r.HeaderAt(8); n != nil || v != nil {
		t.Error("HeaderAt out of range not nil")
	}
	if n, v := r.HeaderAt(-1); n != nil || v != nil {
		t.Error("HeaderAt(-1) not nil")
	}
	// Views are capacity-capped: appending must not clobber the buffer.
	p := r.Path()
	_ = append(p, 'X')
	if r.Buf()[len("GET ")+len(p)] != '?' {
		t.Error("append to a view overwrote the buffer")
	}
}

type want struct {
	status    int // 0: success
	method    Method
	minor     int
	path      string
	query     string
	cl        int64
	chunked   bool
	keepAlive bool
	expect    bool
	upgrade   bool
}

func TestParseTable(t *testing.T) {
	ok11 := want{method: MethodGet, minor: 1, path: "/", cl: -1, keepAlive: true}
	mod := func(f func(w *want)) want { w := ok11; f(&w); return w }
	bad := want{status: 400}
	cases := []struct {
		name string
		in   string
		want want
	}{
		{"minimal", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", ok11},
		{"bare LF", "GET / HTTP/1.1\nHost: h\n\n", ok11},
		{"mixed LF", "GET / HTTP/1.1\r\nHost: h\n\r\n", ok11},
		{"leading empty lines", "\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", ok11},
		{"http10", "GET / HTTP/1.0\r\n\r\n", mod(func(w *want) { w.minor, w.keepAlive = 0, false })},
		{"http10 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", mod(func(w *want) { w.minor = 0 })},
		{"http10 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", mod(func(w *want) { w.minor, w.keepAlive = 0, false })},
		{"http11 close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\n\r\n", mod(func(w *want) { w.keepAlive = false })},
		{"close in list", "GET / HTTP/1.1\r\nHost: h\r\nConnection: foo , close\r\n\r\n", mod(func(w *want) { w.keepAlive = false })},
		{"close in second line", "GET / HTTP/1.1\r\nHost: h\r\nConnection: te\r\nConnection: close\r\n\r\n", mod(func(w *want) { w.keepAlive = false })},
		{"closed not close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", ok11},
		{"upgrade", "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", mod(func(w *want) { w.upgrade = true })},
		{"http12 as 11", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", ok11},
		{"post cl", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n", mod(func(w *want) { w.method, w.path, w.cl = MethodPost, "/x", 42 })},
		{"cl zero", "POST / HTTP/1.1\r\nHost: h\r\ncontent-length: 0\r\n\r\n", mod(func(w *want) { w.method, w.cl = MethodPost, 0 })},
		{"cl dup same", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", mod(func(w *want) { w.method, w.cl = MethodPost, 5 })},
		{"cl max", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n", mod(func(w *want) { w.method, w.cl = MethodPost, 1<<63-1 })},
		{"chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n", mod(func(w *want) { w.method, w.chunked = MethodPost, true })},
		{"expect", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n", mod(func(w *want) { w.method, w.expect, w.cl = MethodPut, true, 3 })},
		{"expect chunked", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n", mod(func(w *want) { w.method, w.expect, w.chunked = MethodPut, true, true })},
		{"expect no body", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n", mod(func(w *want) { w.method = MethodPut })},
		{"expect zero body", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n", mod(func(w *want) { w.method, w.cl = MethodPut, 0 })},
		{"expect list", "PUT / HTTP/1.1\r\nHost: h\r\nExpect: foo, 100-continue\r\nContent-Length: 1\r\n\r\n", mod(func(w *want) { w.method, w.expect, w.cl = MethodPut, true, 1 })},
		{"expect empty", "GET / HTTP/1.1\r\nHost: h\r\nExpect:\r\n\r\n", ok11},
		{"expect unknown", "GET / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n", want{status: 417}},
		{"expect unknown 1.0", "GET / HTTP/1.0\r\nExpect: something\r\n\r\n", want{status: 417}},
		{"host ipv6 port", "GET / HTTP/1.1\r\nHost: [::1]:3500\r\n\r\n", ok11},
		{"host empty", "GET / HTTP/1.1\r\nHost:\r\n\r\n", ok11},
		{"host bad char", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", bad},
		{"host slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", bad},
		{"host utf8", "GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", bad},
		{"expect ignored in 1.0", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", mod(func(w *want) { w.method, w.minor, w.keepAlive = MethodPut, 0, false })},
		{"query", "GET /a/b?x=1&y HTTP/1.1\r\nHost: h\r\n\r\n", mod(func(w *want) { w.path, w.query = "/a/b", "x=1&y" })},
		{"empty query", "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n", mod(func(w *want) { w.path = "/a" })},
		{"absolute form", "GET http://example.com:80/p/q?z=9 HTTP/1.1\r\nHost: example.com\r\n\r\n", mod(func(w *want) { w.path, w.query = "/p/q", "z=9" })},
		{"absolute form no path", "GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", ok11},
		{"absolute form query no path", "GET http://h?a=b HTTP/1.1\r\nHost: h\r\n\r\n", mod(func(w *want) { w.query = "a=b" })},
		{"options star", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", mod(func(w *want) { w.method, w.path = MethodOptions, "*" })},
		{"other method", "PROPFIND / HTTP/1.1\r\nHost: h\r\n\r\n", mod(func(w *want) { w.method = MethodOther })},
		{"lowercase method is a token", "get / HTTP/1.1\r\nHost: h\r\n\r\n", mod(func(w *want) { w.method = MethodOther })},
		{"value OWS trimmed, tab inside", "GET / HTTP/1.1\r\nHost: \t h \t\r\nX-A: a\tb\r\n\r\n", ok11},
		{"empty value", "GET / HTTP/1.1\r\nHost: h\r\nX-E:\r\n\r\n", ok11},
		{"obs-text value", "GET / HTTP/1.1\r\nHost: h\r\nX-U: caf\xc3\xa9\r\n\r\n", ok11},
		{"utf8 in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", mod(func(w *want) { w.path = "/caf\xc3\xa9" })},

		{"empty", "\r\n\r\n\r\n", want{status: -1}},
		{"no version", "GET /\r\n\r\n", bad},
		{"bad version", "GET / HTTX/1.1\r\nHost: h\r\n\r\n", bad},
		{"lower version", "GET / http/1.1\r\nHost: h\r\n\r\n", bad},
		{"version trailing space", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", bad},
		{"version long", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", bad},
		{"http2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", want{status: 505}},
		{"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", want{status: 505}},
		{"http09", "GET / HTTP/0.9\r\n\r\n", want{status: 505}},
		{"double space", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"tab separator", "GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"bad method char", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"no method", " / HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"relative target", "GET foo HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"star not options", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"authority form", "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"absolute no host", "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"ftp scheme", "GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"NUL in target", "GET /a\x00b HTTP/1.1\r\nHost: h\r\n\r\n", bad},
		{"CR in request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", bad},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", bad},
		{"space first line", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", bad},
		{"space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", bad},
		{"tab before colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", bad},
		{"no colon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", bad},
		{"empty name", "GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", bad},
		{"bad name char", "GET / HTTP/1.1\r\nHost: h\r\nX(a): v\r\n\r\n", bad},
		{"non-ascii name", "GET / HTTP/1.1\r\nHost: h\r\nX\xc3\xa9: v\r\n\r\n", bad},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n", bad},
		{"CR in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", bad},
		{"DEL in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: abcdefghijkl\x7fmnop\r\n\r\n", bad},
		{"ESC in long value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: abcdefghijklmnopqrst\x1buvwxyz\r\n\r\n", bad},
		{"CR CR LF", "GET / HTTP/1.1\r\nHost: h\r\r\n\r\n", bad},
		{"bare CR end", "GET / HTTP/1.1\r\nHost: h\r\n\rX\n", bad},
		{"missing host", "GET / HTTP/1.1\r\n\r\n", bad},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", bad},
		{"cl negative", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", bad},
		{"cl plus", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", bad},
		{"cl empty", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", bad},
		{"cl hex", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", bad},
		{"cl list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", bad},
		{"cl inner space", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", bad},
		{"cl overflow", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n", bad},
		{"cl huge", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", bad},
		{"cl conflict", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", bad},
		{"cl and te", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", bad},
		{"te and cl", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", bad},
		{"te in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", bad},
		{"te empty", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", want{status: 501}},
		{"te chunked list", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\n\r\n", want{status: 501}},
		{"te gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", want{status: 501}},
		{"te gzip chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", want{status: 501}},
		{"te chunked gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", want{status: 501}},
		{"te twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", want{status: 501}},
		{"te chunkedx", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", want{status: 501}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, n, err := parseAll(t, c.in)
			w := c.want
			if w.status == -1 {
				if err != ErrNeedMore {
					t.Fatalf("err = %v, want ErrNeedMore", err)
				}
				return
			}
			if w.status != 0 {
				if got := statusOf(err); got != w.status {
					t.Fatalf("err = %v (status %d), want status %d", err, got, w.status)
				}
				if n != 0 {
					t.Errorf("n = %d on error", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if n != len(c.in) && !strings.HasPrefix(c.name, "h2") {
				t.Errorf("n = %d, want %d", n, len(c.in))
			}
			got := want{method: r.MethodID, minor: r.ProtoMinor, path: string(r.Path()), query: string(r.Query()),
				cl: r.ContentLength, chunked: r.Chunked, keepAlive: r.KeepAlive, expect: r.Expect100, upgrade: r.Upgrade}
			if got != w {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
		})
	}
}

// TestParseEverySplit feeds heads in two pieces at every split point, and
// one byte at a time, and wants the same verdict and views as in one piece.
func TestParseEverySplit(t *testing.T) {
	inputs := []string{
		daprGet,
		"POST /v1.0/state/s HTTP/1.1\nHost: h\nContent-Length: 12\n\n",
		"\r\nGET http://h/x?y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x00b\r\n\r\n",              // 400
		"GET / HTTP/2.0\r\nHost: h\r\n\r\n",                             // 505
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", // 501
		"GET / HTTP/1.1\r\nHost: h\r\nX-A: abcdefghijklmnopqrstuvwxyz0123456789\r\n\r\n",
	}
	for _, in := range inputs {
		var whole Request
		wn, werr := whole.Parse([]byte(in), 0)
		for split := 0; split <= len(in); split++ {
			var r Request
			buf := []byte(in)
			n, err := r.Parse(buf[:split], 0)
			if split < len(in) && err == nil {
				t.Fatalf("%q split %d: parsed early", in, split)
			}
			if err == ErrNeedMore {
				n, err = r.Parse(buf, 0)
			}
			if n != wn || statusOf(err) != statusOf(werr) || (err == nil) != (werr == nil) {
				t.Fatalf("%q split %d: got %d,%v want %d,%v", in, split, n, err, wn, werr)
			}
			if err == nil {
				sameRequest(t, &r, &whole)
			}
		}
		// Byte by byte.
		var r Request
		buf := []byte(in)
		var n int
		var err error
		for i := 0; i <= len(buf); i++ {
			n, err = r.Parse(buf[:i], 0)
			if err != ErrNeedMore {
				break
			}
		}
		if n != wn || statusOf(err) != statusOf(werr) {
			t.Fatalf("%q byte by byte: got %d,%v want %d,%v", in, n, err, wn, werr)
		}
		if err == nil {
			sameRequest(t, &r, &whole)
		}
	}
}

func sameRequest(t *testing.T, a, b *Request) {
	t.Helper()
	if string(a.Method()) != string(b.Method()) || string(a.Target()) != string(b.Target()) ||
		string(a.Path()) != string(b.Path()) || string(a.Query()) != string(b.Query()) ||
		a.NumHeaders() != b.NumHeaders() || a.MethodID != b.MethodID || a.ProtoMinor != b.ProtoMinor ||
		a.HeadLen != b.HeadLen || a.ContentLength != b.ContentLength || a.Chunked != b.Chunked ||
		a.KeepAlive != b.KeepAlive || a.Expect100 != b.Expect100 || a.Upgrade != b.Upgrade {
		t.Fatalf("requests differ:\n%+v\n%+v", a, b)
	}
	for i := 0; i < a.NumHeaders(); i++ {
		an, av := a.HeaderAt(i)
		bn, bv := b.HeaderAt(i)
		if string(an) != string(bn) || string(av) != string(bv) {
			t.Fatalf("header %d: %q: %q vs %q: %q", i, an, av, bn, bv)
		}
	}
}

func TestParsePipelined(t *testing.T) {
	one := "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
	two := "GET /b?q=1 HTTP/1.1\r\nHost: h\r\n\r\n"
	three := "DELETE /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	buf := []byte(one + two + three)
	var r Request
	off := 0
	var paths []string
	for off < len(buf) {
		n, err := r.Parse(buf[off:], 0)
		if err != nil {
			t.Fatalf("at %d: %v", off, err)
		}
		paths = append(paths, string(r.Path()))
		off += n
		if r.ContentLength > 0 {
			off += int(r.ContentLength)
		}
	}
	if strings.Join(paths, " ") != "/a /b /c" || r.KeepAlive {
		t.Fatalf("paths %v keepAlive %v", paths, r.KeepAlive)
	}
}

func TestParseLimits(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + strings.Repeat("v", 200) + "\r\n\r\n"
	var r Request
	if _, err := r.Parse([]byte(head), len(head)); err != nil {
		t.Fatalf("exactly maxHead: %v", err)
	}
	r.Reset()
	if _, err := r.Parse([]byte(head), len(head)-1); statusOf(err) != 431 {
		t.Fatalf("maxHead-1: %v", err)
	}
	// Incomplete but already over the limit: 431 at once.
	r.Reset()
	if _, err := r.Parse([]byte(head[:100]), 100); statusOf(err) != 431 {
		t.Fatalf("incomplete at limit: %v", err)
	}
	r.Reset()
	if _, err := r.Parse([]byte(head[:99]), 100); err != ErrNeedMore {
		t.Fatalf("incomplete under limit: %v", err)
	}
	// The default limit applies with maxHead <= 0.
	r.Reset()
	big := "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("v", DefaultMaxHead) + "\r\n\r\n"
	if _, err := r.Parse([]byte(big), 0); statusOf(err) != 431 {
		t.Fatalf("default limit: %v", err)
	}
	// MaxHeaders fields fit; one more is a 431, even before the head ends.
	var sb strings.Builder
	sb.WriteString("GET / HTTP/1.1\r\nHost: h\r\n")
	for i := 1; i < MaxHeaders; i++ {
		sb.WriteString("X-F: v\r\n")
	}
	r.Reset()
	if _, err := r.Parse([]byte(sb.String()+"\r\n"), 1<<20); err != nil {
		t.Fatalf("MaxHeaders fields: %v", err)
	}
	sb.WriteString("X-F: v\r\n")
	r.Reset()
	if _, err := r.Parse([]byte(sb.String()), 1<<20); statusOf(err) != 431 {
		t.Fatalf("MaxHeaders+1 fields, incomplete: %v", err)
	}
}

// TestParseTrickleLinear checks that a byte-at-a-time client does not make
// the parser rescan: the work per call stays bounded by the new bytes.
func TestParseTrickleLinear(t *testing.T) {
	head := []byte("GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + strings.Repeat("v", 60000) + "\r\n\r\n")
	var r Request
	for i := 1; i < len(head); i++ {
		if _, err := r.Parse(head[:i], 1<<20); err != ErrNeedMore {
			t.Fatalf("at %d: %v", i, err)
		}
		// After the first call on the long line, the resume point is the
		// line start and the LF search starts at the previous end.
		if i > 40 && i < len(head)-4 && r.noLF != i {
			t.Fatalf("at %d: noLF = %d", i, r.noLF)
		}
	}
	if n, err := r.Parse(head, 1<<20); err != nil || n != len(head) {
		t.Fatalf("final: %d %v", n, err)
	}
}

func TestRebaseAndReset(t *testing.T) {
	buf := []byte(daprGet)
	var r Request
	if _, err := r.Parse(buf, 0); err != nil {
		t.Fatal(err)
	}
	cp := append([]byte(nil), buf...)
	r.Rebase(cp)
	for i := range buf {
		buf[i] = 'Z'
	}
	if string(r.Path()) != "/v1.0/state/statestore/k1" || string(r.Header("Host")) != "127.0.0.1:3500" {
		t.Fatalf("after Rebase: %q %q", r.Path(), r.Header("Host"))
	}
	if &r.Buf()[0] != &cp[0] {
		t.Fatal("Buf is not the rebased buffer")
	}
	r.Reset()
	if r.NumHeaders() != 0 || r.Path() != nil || r.ContentLength != -1 || r.Buf() != nil {
		t.Fatal("Reset left state")
	}
	// A zero Request parses too, and ContentLength starts at -1.
	var z Request
	if _, err := z.Parse([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 0); err != nil || z.ContentLength != -1 {
		t.Fatalf("zero Request: %v %d", err, z.ContentLength)
	}
}

func TestParseErrorSticks(t *testing.T) {
	in := []byte("GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\nX: y\r\n\r\n")
	var r Request
	if _, err := r.Parse(in[:40], 0); statusOf(err) != 400 {
		t.Fatalf("first: %v", err)
	}
	// Same verdict on more bytes, and no duplicate state (Host counted once).
	if n, err := r.Parse(in, 0); statusOf(err) != 400 || n != 0 || err.Error() != "http1: invalid header name" {
		t.Fatalf("again: %d %v", n, err)
	}
	r.Reset()
	if _, err := r.Parse([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 0); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
	var resp Response
	if _, err := resp.Parse([]byte("HTTP/1.1 2x0 OK\r\n\r\n"), 0); statusOf(err) != 502 {
		t.Fatal(err)
	}
	if _, err := resp.Parse([]byte("HTTP/1.1 200 OK\r\n\r\n"), 0); statusOf(err) != 502 {
		t.Fatal("response error did not stick")
	}
	resp.Reset()
	if _, err := resp.Parse([]byte("HTTP/1.1 200 OK\r\n\r\n"), 0); err != nil {
		t.Fatal(err)
	}
}

func TestMethodFromBytes(t *testing.T) {
	for m := MethodGet; m <= MethodConnect; m++ {
		if got := MethodFromBytes([]byte(m.String())); got != m {
			t.Errorf("%v -> %v", m, got)
		}
	}
	for _, s := range []string{"", "get", "GETS", "POS", "FOO", "PATCHY"} {
		if MethodFromBytes([]byte(s)) != MethodOther {
			t.Errorf("%q not MethodOther", s)
		}
	}
	if MethodOther.String() != "OTHER" {
		t.Error(MethodOther.String())
	}
}

func TestParseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("race detector allocates")
	}
	buf := []byte(daprGet)
	var r Request
	allocs := testing.AllocsPerRun(1000, func() {
		r.Reset()
		if _, err := r.Parse(buf, 0); err != nil {
			t.Fatal(err)
		}
		if r.Header("traceparent") == nil || r.Header("content-type") == nil || r.Header("x-none") != nil {
			t.Fatal("lookup")
		}
		_ = r.Path()
		_ = r.Query()
	})
	if allocs != 0 {
		t.Fatalf("Parse+Header allocates %v times", allocs)
	}
	// Incremental calls and errors do not allocate either.
	bad := []byte("GET / HTTP/1.1\r\nHost: h\r\nX: a\x00\r\n\r\n")
	allocs = testing.AllocsPerRun(1000, func() {
		r.Reset()
		_, _ = r.Parse(buf[:50], 0)
		_, _ = r.Parse(buf[:150], 0)
		_, _ = r.Parse(buf, 0)
		r.Reset()
		_, _ = r.Parse(bad, 0)
	})
	if allocs != 0 {
		t.Fatalf("incremental Parse allocates %v times", allocs)
	}
}

func BenchmarkParseDaprGet(b *testing.B) {
	buf := []byte(daprGet)
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		r.Reset()
		if _, err := r.Parse(buf, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMinimal(b *testing.B) {
	buf := []byte("GET /v1.0/healthz HTTP/1.1\r\nHost: localhost:3500\r\n\r\n")
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		r.Reset()
		if _, err := r.Parse(buf, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// wrkPost is a ~200-byte state save as a load generator sends it.
const wrkPost = "POST /v1.0/state/statestore HTTP/1.1\r\n" +
	"Host: 127.0.0.1:3500\r\n" +
	"User-Agent: Go-http-client/1.1\r\n" +
	"Content-Length: 31\r\n" +
	"Content-Type: application/json\r\n" +
	"Accept-Encoding: gzip\r\n" +
	"\r\n"

func BenchmarkParsePost(b *testing.B) {
	buf := []byte(wrkPost)
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		r.Reset()
		if _, err := r.Parse(buf, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTrickle(b *testing.B) {
	buf := []byte(daprGet)
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		r.Reset()
		for i := 1; i <= len(buf); i++ {
			if _, err := r.Parse(buf[:i], 0); err == nil {
				break
			}
		}
	}
}

func BenchmarkHeaderLookup(b *testing.B) {
	var r Request
	if _, err := r.Parse([]byte(daprGet), 0); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r.Header("Content-Type") == nil {
			b.Fatal("missing")
		}
	}
}

// BenchmarkNetHTTPReadRequest is the reference point: Go's net/http (what
// daprd runs) reading the same head.
func BenchmarkNetHTTPReadRequest(b *testing.B) {
	buf := []byte(daprGet)
	rd := bytes.NewReader(buf)
	br := bufio.NewReader(rd)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		rd.Reset(buf)
		br.Reset(rd)
		if _, err := http.ReadRequest(br); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParsePipelined parses 16 state GETs sent back to back, as a
// pipelining load generator delivers them in one read.
func BenchmarkParsePipelined(b *testing.B) {
	buf := []byte(strings.Repeat(daprGet, 16))
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		for off := 0; off < len(buf); {
			n, err := r.Parse(buf[off:], 0)
			if err != nil {
				b.Fatal(err)
			}
			off += n
		}
	}
}
