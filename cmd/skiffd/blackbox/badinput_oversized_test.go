package blackbox

import (
	"bufio"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBadInputOversized: a head larger than --read-buffer-size gets 431, a
// body larger than --max-body-size gets 413 with a Dapr JSON error; sizes
// just under the limits work.
func TestBadInputOversized(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	const maxBody = 256 << 10
	s := startSidecar(t, Opts{AppID: "oversized", AppPort: app.Port,
		Args: []string{"--read-buffer-size", "4Ki", "--max-body-size", "256Ki"}})

	// expect sends raw on a new connection (writing concurrently, errors
	// ignored: skiffd may answer and close before reading it all), checks
	// the answer and, for an error, that the connection closes.
	var wg sync.WaitGroup
	expect := func(name, raw string, status int, code string) {
		c := s.dialRaw()
		go writeAll(c, raw)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		r, err := readResp(br, "GET")
		if err != nil {
			t.Errorf("%s: no answer: %v", name, err)
			return
		}
		if code != "" {
			wantAPIError(t, name, r, status, code)
		} else {
			wantStatus(t, name, r, status)
		}
		if status >= 400 {
			expectClosed(t, name, c, br, 5*time.Second)
		}
	}

	s.underAbuse(true, func() {
		// All cases at once, each on its own connection.
		defer wg.Wait()
		expect := func(name, raw string, status int, code string) {
			wg.Add(1)
			go func() { defer wg.Done(); expect(name, raw, status, code) }()
		}
		big := strings.Repeat("a", 5000)
		expect("one big header", "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nX-Big: "+big+"\r\n\r\n", 431, "")
		expect("long URL", "GET /v1.0/state/statestore/"+big+" HTTP/1.1\r\nHost: x\r\n\r\n", 431, "")
		var many strings.Builder
		for i := range 300 {
			many.WriteString("X-H" + strconv.Itoa(i) + ": vvvvvvvvvv\r\n")
		}
		expect("many headers", "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n"+many.String()+"\r\n", 431, "")
		expect("endless head", "GET /v1.0/healthz HTTP/1.1\r\nX-Endless: "+strings.Repeat("e", 64<<10), 431, "")
		// Just under the limit: fine.
		expect("head of 3.5 KiB", "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 3500)+"\r\n\r\n", 204, "")

		// Bodies: declared too large (the answer comes without reading it).
		expect("state body, Content-Length", "POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(maxBody+1)+"\r\n\r\n", 413, "ERR_BODY_TOO_LARGE")
		expect("invoke body, Content-Length", "POST /v1.0/invoke/oversized/method/echo-raw/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"+strings.Repeat("b", 1000), 413, "ERR_BODY_TOO_LARGE")
		expect("huge Content-Length", "POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n", 413, "ERR_BODY_TOO_LARGE")
		// Chunked, growing past the limit.
		var ch strings.Builder
		ch.WriteString("POST /v1.0/invoke/oversized/method/echo-raw/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		for range 40 {
			ch.WriteString("2000\r\n" + strings.Repeat("c", 0x2000) + "\r\n")
		}
		ch.WriteString("0\r\n\r\n")
		expect("chunked invoke body", ch.String(), 413, "ERR_BODY_TOO_LARGE")
		stateChunked := strings.Replace(ch.String(), "/v1.0/invoke/oversized/method/echo-raw/x", "/v1.0/state/statestore", 1)
		expect("chunked state body", stateChunked, 413, "ERR_BODY_TOO_LARGE")
	})

	// Exactly at the limit: accepted, both buffered (state) and streamed (invoke).
	prefix, suffix := `[{"key":"atlimit","value":"`, `"}]`
	val := strings.Repeat("v", maxBody-len(prefix)-len(suffix))
	wantStatus(t, "state body of exactly --max-body-size", s.do("POST", store, []byte(prefix+val+suffix)), 204)
	if r := s.do("GET", store+"/atlimit", nil); len(r.Body) != len(val)+2 {
		t.Errorf("stored value of %d bytes, want %d", len(r.Body), len(val)+2)
	}
	r := s.do("POST", "/v1.0/invoke/oversized/method/echo-raw/x", []byte(strings.Repeat("w", maxBody)))
	if r.Status != 200 || len(r.Body) != maxBody {
		t.Errorf("invoke body of exactly --max-body-size: %d, %d bytes back", r.Status, len(r.Body))
	}
	// One byte more through net/http: 413 JSON.
	wantAPIError(t, "state body one byte over", s.do("POST", store, []byte(prefix+val+"v"+suffix)), 413, "ERR_BODY_TOO_LARGE")
}
