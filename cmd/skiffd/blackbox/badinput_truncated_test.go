package blackbox

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBadInputTruncated: requests cut off mid-head or mid-body, then the
// client closes (or half-closes). skiffd answers nothing wrong, stores
// nothing, and keeps serving everyone else.
func TestBadInputTruncated(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "trunc", AppPort: app.Port})

	bigBody := strings.Repeat("z", 200_000)
	cases := []struct {
		name string
		raw  string
	}{
		{"request line", "GET /v1.0/healthz HT"},
		{"header", "GET /v1.0/state/statestore/k HTTP/1.1\r\nHost: x\r\nX-Long: abc"},
		{"no blank line", "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n"},
		{"state body", "POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + `[{"key":"trunc1","value":`},
		{"invoke small body", "POST /v1.0/invoke/trunc/method/echo-raw/t HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("y", 500)},
		{"invoke streamed body", "POST /v1.0/invoke/trunc/method/echo-raw/t HTTP/1.1\r\nHost: x\r\nContent-Length: 400000\r\n\r\n" + bigBody},
		{"chunked state body", "POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" + `[{"key":"trunc2"`},
		{"chunked invoke body", "POST /v1.0/invoke/trunc/method/echo-raw/t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n" + strings.Repeat("c", 30000)},
		{"second request of a keep-alive", "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /v1.0/heal"},
	}

	s.underAbuse(true, func() {
		for _, c := range cases {
			for round := range 4 {
				conn := s.dialRaw()
				writeAll(conn, c.raw)
				switch round % 2 {
				case 0: // close outright
					if round == 2 {
						_ = conn.(*net.TCPConn).SetLinger(0) // RST
					}
					conn.Close()
				case 1: // half-close: skiffd sees EOF and must give up on the request
					_ = conn.(*net.TCPConn).CloseWrite()
					br := bufio.NewReader(conn)
					_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
					for {
						r, err := readResp(br, "GET")
						if err != nil {
							break
						}
						// Only the complete first request of the keep-alive case may succeed.
						if r.Status < 400 && c.name != "second request of a keep-alive" {
							t.Errorf("%s (half-closed): answered %d %q", c.name, r.Status, trunc(r.Body))
						}
					}
					expectClosed(t, c.name+" (half-closed)", conn, br, 5*time.Second)
					conn.Close()
				}
			}
		}
	})
	// Nothing of the truncated saves was stored.
	for _, k := range []string{"trunc1", "trunc2"} {
		wantStatus(t, "truncated save of "+k, s.do("GET", store+"/"+k, nil), 204)
	}
	// The app channel is not wedged by the aborted uploads: many calls in a row.
	for i := range 20 {
		r := s.do("POST", "/v1.0/invoke/trunc/method/echo-raw/after", []byte(strconv.Itoa(i)))
		if r.Status != 200 || string(r.Body) != strconv.Itoa(i) {
			t.Fatalf("invoke #%d after the truncated uploads: %d %q", i, r.Status, trunc(r.Body))
		}
	}
}
