package blackbox

import (
	"bufio"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBadInputChunked: malformed chunked bodies get 400 and a close, on a
// buffered route (state) and a streamed one (invoke); a valid chunked body
// works.
func TestBadInputChunked(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "chunky", AppPort: app.Port})

	heads := map[string]string{
		"state":  "POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
		"invoke": "POST /v1.0/invoke/chunky/method/echo-raw/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	}
	bodies := []struct{ name, body string }{
		{"non-hex size", "zz\r\nhello\r\n0\r\n\r\n"},
		{"negative size", "-1\r\nhello\r\n0\r\n\r\n"},
		{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"},
		{"empty size line", "\r\nhello\r\n0\r\n\r\n"},
		{"size with a space inside", "1 0\r\nhello\r\n0\r\n\r\n"},
		{"missing CRLF after data", "5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n"},
		{"data longer than size", "3\r\nhello\r\n0\r\n\r\n"},
		{"overflowing size", "ffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"},
		{"size of 2^64-1", "ffffffffffffffff\r\nhello\r\n0\r\n\r\n"},
		{"size of 2^63", "8000000000000000\r\nhello\r\n0\r\n\r\n"},
		{"endless size line", strings.Repeat("1", 10000) + "\r\n"},
		{"bad byte in extension", "5;\x00ext\r\nhello\r\n0\r\n\r\n"},
	}
	check := func(name, raw string, want ...int) {
		c := s.dialRaw()
		go writeAll(c, raw)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		r, err := readResp(br, "GET")
		if err != nil {
			t.Errorf("%s: no answer: %v", name, err)
			return
		}
		ok := false
		for _, w := range want {
			ok = ok || r.Status == w
		}
		if !ok {
			t.Errorf("%s: status %d, want %v; body %q", name, r.Status, want, trunc(r.Body))
		}
		if r.Status >= 400 {
			expectClosed(t, name, c, br, 5*time.Second)
		}
	}
	s.underAbuse(true, func() {
		// Each case on its own connection, all at once: a case that hangs
		// costs one read timeout, not one each.
		var wg sync.WaitGroup
		defer wg.Wait()
		check := func(name, raw string, want ...int) { wg.Go(func() { check(name, raw, want...) }) }
		for route, head := range heads {
			for _, b := range bodies {
				want := []int{400}
				if strings.HasPrefix(b.name, "size of") {
					// A valid but huge size: 400 or 413 (over --max-body-size).
					want = []int{400, 413}
				}
				check(route+": "+b.name, head+b.body, want...)
			}
			// Both framings at once (request smuggling): 400.
			check(route+": Content-Length and chunked",
				strings.Replace(head, "Transfer-Encoding", "Content-Length: 5\r\nTransfer-Encoding", 1)+"5\r\nhello\r\n0\r\n\r\n", 400)
			// A coding other than chunked last: not a framing we can read.
			check(route+": gzip transfer coding",
				strings.Replace(head, "chunked", "gzip", 1)+"hello", 400, 501)
		}
	})

	// Valid chunked bodies, with extensions and a trailer: fine.
	r, _, _ := s.rawExchange(heads["state"] + "5;ext=1\r\n" + `[{"ke` + "\r\n" + "14\r\n" + `y":"ch","value":"v"}` + "\r\n1\r\n]\r\n0\r\nX-Trailer: t\r\n\r\n")
	wantStatus(t, "valid chunked state save", r, 204)
	if r := s.do("GET", store+"/ch", nil); string(r.Body) != `"v"` {
		t.Errorf("chunked save stored %q", r.Body)
	}
	r, _, _ = s.rawExchange(heads["invoke"] + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	if r.Status != 200 || string(r.Body) != "hello world" {
		t.Errorf("valid chunked invoke: %d %q", r.Status, r.Body)
	}
}
