package http1

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
)

var requestSeeds = []string{
	daprGet,
	wrkPost,
	"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.0\n\n",
	"\r\nOPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET http://h:1/p?q HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
	"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nConnection: Upgrade, close\r\n\r\n",
	"GET / HTTP/2.0\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
}

// checkRequest asserts the invariants of one successful or failed parse.
func checkRequest(t *testing.T, r *Request, buf []byte, n int, err error, maxHead int) {
	t.Helper()
	if n < 0 || n > len(buf) {
		t.Fatalf("n = %d, len %d", n, len(buf))
	}
	if err != nil {
		if n != 0 {
			t.Fatalf("n = %d with error %v", n, err)
		}
		if err == ErrNeedMore {
			if len(buf) >= maxHead {
				t.Fatalf("ErrNeedMore at len %d >= maxHead %d", len(buf), maxHead)
			}
			return
		}
		switch statusOf(err) {
		case 400, 417, 431, 501, 505:
		default:
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	if n != r.HeadLen || n == 0 || n > maxHead {
		t.Fatalf("n = %d HeadLen %d maxHead %d", n, r.HeadLen, maxHead)
	}
	inside := func(what string, s span) {
		if s.off < 0 || s.off > s.end || int(s.end) > n {
			t.Fatalf("%s span %v outside head of %d", what, s, n)
		}
	}
	inside("method", r.method)
	inside("target", r.target)
	inside("path", r.path)
	inside("query", r.query)
	for i := 0; i < r.nh; i++ {
		inside("name", r.headers[i].name)
		inside("value", r.headers[i].value)
		name, value := r.HeaderAt(i)
		if len(name) == 0 {
			t.Fatal("empty header name")
		}
		for _, c := range name {
			if tchar[c] == 0 {
				t.Fatalf("bad name byte %q", c)
			}
		}
		for _, c := range value {
			if c < 0x20 && c != '\t' || c == 0x7f {
				t.Fatalf("CTL in value %q", value)
			}
		}
		if len(value) > 0 && (value[0] == ' ' || value[len(value)-1] == ' ') {
			t.Fatalf("untrimmed value %q", value)
		}
	}
	if r.Chunked && r.ContentLength >= 0 {
		t.Fatal("both chunked and a length")
	}
	if p := r.Path(); len(p) == 0 {
		t.Fatal("empty path")
	}
	if r.ProtoMinor == 1 && r.Header("Host") == nil {
		t.Fatal("1.1 without Host")
	}
}

func sameVerdict(a, b error) bool {
	if a == nil || b == nil || a == ErrNeedMore || b == ErrNeedMore {
		return a == b
	}
	return statusOf(a) == statusOf(b)
}

func FuzzRequestParse(f *testing.F) {
	for i, s := range requestSeeds {
		f.Add([]byte(s), uint8(i*7), uint16(0))
		f.Add([]byte(s), uint8(1), uint16(len(s)-2))
	}
	f.Fuzz(func(t *testing.T, data []byte, step uint8, maxHead uint16) {
		mh := int(maxHead)
		if mh == 0 {
			mh = DefaultMaxHead
		}
		var whole Request
		n, err := whole.Parse(data, int(maxHead))
		checkRequest(t, &whole, data, n, err, mh)

		// Fed in pieces, the verdict and the result are the same.
		var r Request
		st := int(step)%17 + 1
		var n2 int
		var err2 error = ErrNeedMore
		for end := 0; err2 == ErrNeedMore && end < len(data); {
			end = min(end+st, len(data))
			n2, err2 = r.Parse(data[:end], int(maxHead))
			checkRequest(t, &r, data[:end], n2, err2, mh)
		}
		if len(data) == 0 {
			n2, err2 = r.Parse(data, int(maxHead))
		}
		if n2 != n || !sameVerdict(err, err2) {
			t.Fatalf("whole: %d %v, in steps of %d: %d %v", n, err, st, n2, err2)
		}
		if err == nil {
			sameRequest(t, &r, &whole)
			// Pipelining: the next Parse starts a new message.
			n3, err3 := r.Parse(data[n:], int(maxHead))
			if n3 > len(data)-n {
				t.Fatalf("second message n=%d", n3)
			}
			_ = err3
		}
	})
}

// FuzzRequestVsNetHTTP compares framing with Go's net/http (what daprd
// runs): whatever we accept, Go must accept with the same method, target,
// length and chunking, so that no proxy pairing of the two can disagree on
// where a message ends.
func FuzzRequestVsNetHTTP(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		n, err := r.Parse(data, 1<<16)
		if err != nil {
			return
		}
		// Deliberate difference: we skip empty lines before the request line
		// (RFC 9112 §2.2); Go does not.
		req, gerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(data[r.method.off:n])))
		if gerr != nil {
			t.Fatalf("we accept %q, net/http says %v", data[:n], gerr)
		}
		if req.Method != string(r.Method()) || req.RequestURI != string(r.Target()) {
			t.Fatalf("method/target: %q %q vs %q %q", req.Method, req.RequestURI, r.Method(), r.Target())
		}
		chunked := len(req.TransferEncoding) > 0 && req.TransferEncoding[0] == "chunked"
		if chunked != r.Chunked {
			t.Fatalf("chunked %v vs %v", chunked, r.Chunked)
		}
		if !r.Chunked {
			want := r.ContentLength
			if want < 0 {
				want = 0
			}
			if req.ContentLength != want {
				t.Fatalf("Content-Length %d vs %d", req.ContentLength, r.ContentLength)
			}
		}
		if req.Close == r.KeepAlive {
			t.Fatalf("keep-alive %v vs Close %v", r.KeepAlive, req.Close)
		}
	})
}

func FuzzChunkedDecode(f *testing.F) {
	for _, s := range []string{
		"0\r\n\r\n",
		"5\r\nhello\r\n0\r\n\r\n",
		"4;a=b\r\nWiki\r\n5\r\npedia\r\n0\r\nX: y\r\n\r\nNEXT",
		"7FFFFFFFFFFFFFFF\r\nabc",
		"5 ;x\r\nhello\r\n0\r\n\r\n",
		"5\nhello\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		var d ChunkedDecoder
		out, n, done, err := d.Decode(nil, data)
		if n < 0 || n > len(data) || (err == nil && !done && n != len(data)) {
			t.Fatalf("consumed %d of %d (done %v err %v)", n, len(data), done, err)
		}
		if err != nil {
			if done || (statusOf(err) != 400 && statusOf(err) != 431) {
				t.Fatalf("bad error %v done %v", err, done)
			}
		}
		if len(out) > n {
			t.Fatalf("more output (%d) than input (%d)", len(out), n)
		}
		// In pieces: same output, consumption and verdict.
		st := int(step)%13 + 1
		d.Reset()
		var out2 []byte
		var used int
		var done2 bool
		var err2 error
		for used < len(data) && !done2 && err2 == nil {
			end := min(used+st, len(data))
			var k int
			out2, k, done2, err2 = d.Decode(out2, data[used:end])
			used += k
		}
		if !bytes.Equal(out, out2) || done != done2 || (err == nil) != (err2 == nil) || (err == nil && n != used) {
			t.Fatalf("whole %q %d %v %v; steps of %d: %q %d %v %v", out, n, done, err, st, out2, used, done2, err2)
		}
		// In place: the same output at the front of the buffer.
		d.Reset()
		inPlace := append([]byte(nil), data...)
		out3, n3, done3, err3 := d.Decode(inPlace[:0], inPlace)
		if !bytes.Equal(out3, out) || n3 != n || done3 != done || (err3 == nil) != (err == nil) {
			t.Fatalf("in place: %q %d %v %v; want %q %d %v %v", out3, n3, done3, err3, out, n, done, err)
		}
		// What we decode, Go's decoder decodes the same way.
		if done {
			g, gerr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(data[:n])))
			// Deliberate difference: RFC 9112 allows BWS before ";ext"; Go
			// refuses it.
			lenient := gerr != nil && (bytes.Contains(data, []byte(" ;")) || bytes.Contains(data, []byte("\t;")))
			if !lenient && (gerr != nil || !bytes.Equal(g, out)) {
				t.Fatalf("net/http: %q %v; we: %q", g, gerr, out)
			}
		}
	})
}

func FuzzResponseParse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.0 204\n\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		var r Response
		n, err := r.Parse(data, 1<<12)
		if n < 0 || n > len(data) {
			t.Fatalf("n = %d", n)
		}
		if err != nil && err != ErrNeedMore && statusOf(err) != 502 {
			t.Fatalf("error %v", err)
		}
		if err == nil {
			if r.Status < 100 || r.Status > 999 || n != r.HeadLen {
				t.Fatalf("status %d n %d", r.Status, n)
			}
			for i := range r.headers {
				h := r.headers[i]
				if int(h.name.end) > n || int(h.value.end) > n || h.name.off >= h.name.end {
					t.Fatalf("header span outside head")
				}
			}
			if int(r.reason.end) > n {
				t.Fatal("reason outside head")
			}
			if !strings.HasPrefix(string(data), "HTTP/1.") {
				t.Fatal("accepted a non-HTTP/1 status line")
			}
		}
		var r2 Response
		st := int(step)%11 + 1
		var n2 int
		err2 := ErrNeedMore
		for end := 0; err2 == ErrNeedMore && end < len(data); {
			end = min(end+st, len(data))
			n2, err2 = r2.Parse(data[:end], 1<<12)
		}
		if len(data) == 0 {
			n2, err2 = r2.Parse(data, 1<<12)
		}
		if n != n2 || !sameVerdict(err, err2) {
			t.Fatalf("whole %d %v; steps of %d: %d %v", n, err, st, n2, err2)
		}
		if err == nil && (r.Status != r2.Status || r.ContentLength != r2.ContentLength ||
			r.Chunked != r2.Chunked || r.KeepAlive != r2.KeepAlive || r.NumHeaders() != r2.NumHeaders()) {
			t.Fatalf("results differ: %+v vs %+v", r, r2)
		}
	})
}

// FuzzResponseVsNetHTTP: whatever response head we accept, Go's client (what
// daprd uses to call the app) accepts too, with the same status and framing.
func FuzzResponseVsNetHTTP(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.0 204\n\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Response
		n, err := r.Parse(data, 1<<16)
		if err != nil {
			return
		}
		resp, gerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(data[:n])), nil)
		if gerr != nil {
			t.Fatalf("we accept %q, net/http says %v", data[:n], gerr)
		}
		if resp.StatusCode != r.Status {
			t.Fatalf("status %d vs %d", resp.StatusCode, r.Status)
		}
		if !r.HasBody(false) {
			return // Go zeroes the framing of bodiless statuses
		}
		chunked := len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
		if chunked != r.Chunked || (!r.Chunked && resp.ContentLength != r.ContentLength) {
			t.Fatalf("framing: Go chunked=%v cl=%d, we chunked=%v cl=%d", chunked, resp.ContentLength, r.Chunked, r.ContentLength)
		}
		// Deliberate difference: after chunked+Content-Length we close.
		suspect := r.Chunked && r.Header("Content-Length") != nil
		if resp.Close == r.KeepAlive && !r.BodyUntilClose(false) && !suspect {
			t.Fatalf("keep-alive %v vs Go Close %v", r.KeepAlive, resp.Close)
		}
	})
}

// FuzzRequestStructured builds plausible heads from parts so the fuzzer
// spends its time on header semantics, and compares with net/http both ways:
// what we accept Go accepts with the same framing, and what Go's server
// would accept we accept too, apart from the documented deliberate
// differences.
func FuzzRequestStructured(f *testing.F) {
	f.Add("GET", "/v1.0/state/s/k?x=1", "1.1", "Content-Length: 0\r\nConnection: close\r\n")
	f.Add("POST", "/p", "1.1", "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n")
	f.Add("PUT", "http://h/x", "1.0", "Content-Length: 5\r\nContent-Length: 5\r\nX-A: b\r\n")
	f.Add("DELETE", "/a%20b", "1.1", "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n")
	f.Fuzz(func(t *testing.T, method, target, version, fields string) {
		head := method + " " + target + " HTTP/" + version + "\r\nHost: h\r\n" + fields + "\r\n"
		data := []byte(head)
		var r Request
		n, err := r.Parse(data, 1<<16)
		req, gerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if gerr == nil && serverRefuses(req) {
			gerr = io.ErrUnexpectedEOF // stands for "refused by the server"
		}
		if err == nil {
			if gerr != nil {
				t.Fatalf("we accept %q, net/http: %v", data[:n], gerr)
			}
			chunked := len(req.TransferEncoding) > 0
			if chunked != r.Chunked || !r.Chunked && req.ContentLength != max(r.ContentLength, 0) {
				t.Fatalf("framing of %q: Go chunked=%v cl=%d, we chunked=%v cl=%d", data, chunked, req.ContentLength, r.Chunked, r.ContentLength)
			}
			return
		}
		if gerr != nil || err == ErrNeedMore {
			return
		}
		// Go accepts, we refuse: only for the documented reasons.
		deliberate := strings.Contains(fields, "\n ") || strings.Contains(fields, "\n\t") ||
			strings.HasPrefix(fields, " ") || strings.HasPrefix(fields, "\t") || // obs-fold
			r.seen&(seenTE|seenCL) == seenTE|seenCL || // both lengths
			statusOf(err) == 400 && req.ProtoMinor == 0 && req.Header.Get("Transfer-Encoding") != "" ||
			err == errTarget && !strings.HasPrefix(target, "/") || // Go takes any URI
			statusOf(err) == 431 // ours counts fields, Go's counts bytes
		if !deliberate {
			t.Fatalf("net/http accepts %q, we say %v", data, err)
		}
	})
}

// serverRefuses applies the checks Go's server makes after ReadRequest.
func serverRefuses(req *http.Request) bool {
	if req.ProtoMajor != 1 {
		return true
	}
	if hosts := req.Header["Host"]; len(hosts) > 1 || req.ProtoMinor >= 1 && len(hosts) == 0 && req.Host == "" {
		return true
	}
	if e := req.Header.Get("Expect"); e != "" && !strings.EqualFold(e, "100-continue") && !hasToken([]byte(e), "100-continue") {
		return true
	}
	for k, vv := range req.Header {
		for _, c := range []byte(k) {
			if tchar[c] == 0 {
				return true
			}
		}
		for _, v := range vv {
			for _, c := range []byte(v) {
				if c < 0x20 && c != '\t' || c == 0x7f {
					return true
				}
			}
		}
	}
	if h := req.Header.Get("Host"); !validHost([]byte(h)) {
		return true
	}
	return false
}

// FuzzResponseStructured: plausible response heads from parts; whatever we
// accept, Go's client accepts with the same status and framing.
func FuzzResponseStructured(f *testing.F) {
	f.Add("1.1", "200", "OK", "Content-Length: 5\r\nConnection: close\r\n")
	f.Add("1.1", "204", "No Content", "Transfer-Encoding: chunked\r\n")
	f.Add("1.0", "404", "", "Connection: keep-alive\r\nContent-Length: 0\r\n")
	f.Fuzz(func(t *testing.T, version, status, reason, fields string) {
		data := []byte("HTTP/" + version + " " + status + " " + reason + "\r\n" + fields + "\r\n")
		var r Response
		n, err := r.Parse(data, 1<<16)
		if err != nil {
			return
		}
		resp, gerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(data[:n])), nil)
		if gerr != nil {
			t.Fatalf("we accept %q, net/http: %v", data[:n], gerr)
		}
		if resp.StatusCode != r.Status {
			t.Fatalf("status %d vs %d", resp.StatusCode, r.Status)
		}
		if r.HasBody(false) {
			chunked := len(resp.TransferEncoding) > 0
			if chunked != r.Chunked || !r.Chunked && resp.ContentLength != r.ContentLength {
				t.Fatalf("framing of %q: Go %v %d, we %v %d", data, chunked, resp.ContentLength, r.Chunked, r.ContentLength)
			}
		}
	})
}
