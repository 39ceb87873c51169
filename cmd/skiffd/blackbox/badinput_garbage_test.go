package blackbox

import (
	"bufio"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBadInputGarbage: bytes that are not HTTP/1.1 get 400 (or 505 for
// another HTTP version) and a close; skiffd serves everyone else meanwhile.
func TestBadInputGarbage(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "garbage", AppPort: app.Port})

	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return string(b)
	}
	printable := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(0x21 + rng.UintN(0x5e))
		}
		return string(b)
	}
	cases := []struct {
		name string
		raw  string
		want []int // acceptable statuses; nil: a close without an answer is fine too
	}{
		{"random bytes", random(1000), nil},
		{"random bytes 2", "\x80" + random(3000), nil},
		{"printable noise then CRLF", printable(200) + "\r\n\r\n", []int{400}},
		{"NULs", strings.Repeat("\x00", 512) + "\r\n", []int{400}},
		// No line end at all: net/http (daprd) waits for one too; the head
		// size limit ends it.
		{"8 KiB of NULs, no line end", strings.Repeat("\x00", 8<<10), []int{400, 431}},
		{"binary with CRLFs", "\x00\x01\x02\x03\r\n\xff\xfe\r\n\r\n", []int{400}},
		{"TLS client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + random(200), nil},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00", []int{400, 505}},
		{"HTTP/3.0", "GET /v1.0/healthz HTTP/3.0\r\nHost: x\r\n\r\n", []int{505, 400}},
		{"HTTP/9.9", "GET /v1.0/healthz HTTP/9.9\r\nHost: x\r\n\r\n", []int{505, 400}},
		{"no version", "GET /v1.0/healthz\r\n\r\n", []int{400}},
		{"lowercase version", "GET /v1.0/healthz http/1.1\r\nHost: x\r\n\r\n", []int{400, 505}},
		{"double space", "GET  /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"space in target", "GET /v1.0/health z HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"bad method byte", "G\x01T /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"header without colon", "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", []int{400}},
		{"space in header name", "GET /v1.0/healthz HTTP/1.1\r\nHo st: x\r\n\r\n", []int{400}},
		{"space before colon", "GET /v1.0/healthz HTTP/1.1\r\nHost : x\r\n\r\n", []int{400}},
		{"NUL in header value", "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", []int{400}},
		{"obsolete line folding", "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n", []int{400}},
		{"bad Content-Length", "POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", []int{400}},
		{"negative Content-Length", "POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", []int{400}},
		{"two Content-Lengths", "POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", []int{400}},
		{"bad percent escape", "GET /v1.0/state/statestore/%zz HTTP/1.1\r\nHost: x\r\n\r\n", []int{400}},
		{"HTTP/1.1 without Host", "GET /v1.0/healthz HTTP/1.1\r\n\r\n", []int{400}},
		{"two Hosts", "GET /v1.0/healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []int{400}},
	}

	s.underAbuse(true, func() {
		var wg sync.WaitGroup
		for _, c := range cases {
			wg.Go(func() {
				conn := s.dialRaw()
				go writeAll(conn, c.raw)
				_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				br := bufio.NewReader(conn)
				r, err := readResp(br, "GET")
				switch {
				case err != nil && c.want == nil:
					// Closed without an answer: acceptable for non-HTTP bytes,
					// but the close must come now, not after a timeout.
					if strings.Contains(err.Error(), "timeout") {
						t.Errorf("%s: neither answered nor closed: %v", c.name, err)
					}
					return
				case err != nil:
					t.Errorf("%s: no answer: %v", c.name, err)
					return
				}
				ok := false
				for _, w := range c.want {
					ok = ok || r.Status == w
				}
				if c.want == nil {
					ok = r.Status == 400 || r.Status == 505 || r.Status == 431
				}
				if !ok {
					t.Errorf("%s: status %d, want %v; body %q", c.name, r.Status, c.want, trunc(r.Body))
				}
				// No body format is asserted: daprd's net/http answers a head it
				// cannot parse with plain text ("400 Bad Request").
				expectClosed(t, c.name, conn, br, 5*time.Second)
			})
		}
		wg.Wait()
	})

	// Correct but unusual requests are served.
	r, c, br := s.rawExchange("GET /v1.0/healthz HTTP/1.0\r\n\r\n")
	wantStatus(t, "HTTP/1.0 without Host", r, 204)
	expectClosed(t, "HTTP/1.0 without keep-alive", c, br, 5*time.Second)
	r, _, _ = s.rawExchange("GET /v1.0/healthz HTTP/1.1\r\nhOsT: x\r\nX-Empty:\r\nX-Tabs:\t v \t\r\n\r\n")
	wantStatus(t, "odd but valid header forms", r, 204)
	// HTTP/1.2 is served as HTTP/1.1 (RFC 9110 2.5; net/http does the same).
	r, _, _ = s.rawExchange("GET /v1.0/healthz HTTP/1.2\r\nHost: x\r\n\r\n")
	wantStatus(t, "HTTP/1.2", r, 204)
	r, _, _ = s.rawExchange("GET /v1.0/healthz HTTP/1.1\nHost: x\n\n")
	if r.Status != 204 && r.Status != 400 {
		t.Errorf("bare LF line ends: %d", r.Status)
	}
}
