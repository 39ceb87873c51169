package blackbox

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBadInputVanish: clients vanish mid-body, mid-response of a big
// invocation and mid-pipeline; afterwards 200 concurrent normal requests
// succeed, no client connection is left open in skiffd, and its RSS does
// not balloon: bounded while slow readers hold on, and a second round of
// the same abuse does not add to what the first left.
func TestBadInputVanish(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "vanish", AppPort: app.Port, Args: []string{"--max-body-size", "16Mi"}})

	// Warm up, so the baseline includes the pools a normal run builds.
	concurrentRound(t, s, 200)
	r := s.do("GET", "/v1.0/invoke/vanish/method/big/"+strconv.Itoa(8<<20), nil)
	if r.Status != 200 || len(r.Body) != 8<<20 {
		t.Fatalf("warm-up big invoke: %d, %d bytes", r.Status, len(r.Body))
	}
	s.Client.CloseIdleConnections()
	rss0 := s.RSS()

	vanish := func(c net.Conn, rst bool) {
		if rst {
			_ = c.(*net.TCPConn).SetLinger(0)
		}
		c.Close()
	}
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	bigGET := "GET /v1.0/invoke/vanish/method/big/" + strconv.Itoa(8<<20) + " HTTP/1.1\r\nHost: x\r\n\r\n"

	round := func(k int) {
		var wg sync.WaitGroup
		// Mid-body: buffered (state) and streamed (invoke) routes.
		for i := range 32 {
			wg.Go(func() {
				c := dial()
				path := "/v1.0/state/statestore"
				if i%2 == 1 {
					path = "/v1.0/invoke/vanish/method/echo-raw/v"
				}
				writeAll(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 4000000\r\n\r\n"+strings.Repeat("m", 300_000))
				time.Sleep(20 * time.Millisecond)
				vanish(c, i%4 < 2)
			})
		}
		// Mid-response of a big invocation, after reading some of it.
		for i := range 16 {
			wg.Go(func() {
				c := dial()
				writeAll(c, bigGET)
				_, _ = io.CopyN(io.Discard, c, int64(64<<10*(1+i%4)))
				vanish(c, i%2 == 0)
			})
		}
		// Mid-pipeline: slow invocations and state calls queued, one answer read.
		for i := range 16 {
			wg.Go(func() {
				c := dial()
				reqs := pipeline("vanish", "vp"+strconv.Itoa(k)+"-"+strconv.Itoa(i), 30)
				var all strings.Builder
				for _, r := range reqs {
					all.WriteString(r.raw)
				}
				writeAll(c, all.String())
				_, _ = readResp(bufio.NewReader(c), "GET")
				vanish(c, i%2 == 0)
			})
		}
		wg.Wait()

		// Slow readers: 16 clients ask for 8 MiB and read nothing. skiffd
		// must hold a bounded amount for each, not the whole answer.
		before := s.RSS()
		held := make([]net.Conn, 16)
		for i := range held {
			held[i] = dial()
			writeAll(held[i], bigGET)
		}
		time.Sleep(700 * time.Millisecond)
		during := s.RSS()
		t.Logf("round %d: 16 clients not reading 8 MiB answers: RSS %d -> %d MiB", k, before>>20, during>>20)
		if during-before > 16*4<<20 {
			t.Errorf("round %d: 16 slow readers of 8 MiB answers added %d MiB to RSS (more than 4 MiB each)", k, (during-before)>>20)
		}
		for i, c := range held {
			vanish(c, i%2 == 0)
		}
	}

	var rss [3]int64
	rss[0] = rss0
	s.underAbuse(true, func() {
		for k := 1; k <= 2; k++ {
			round(k)
			waitClientConns(t, s, 1, 5*time.Second) // the well-behaved client's
			rss[k] = s.RSS()
		}
	})
	t.Logf("RSS: %d MiB at the start, %d MiB after round 1, %d MiB after round 2", rss[0]>>20, rss[1]>>20, rss[2]>>20)
	if rss[2] > rss[1]+32<<20 {
		t.Errorf("RSS keeps growing with the same abuse: %d MiB after round 1, %d MiB after round 2", rss[1]>>20, rss[2]>>20)
	}
	if rss[2] > 256<<20 {
		t.Errorf("RSS is %d MiB after the vanishing clients (%d MiB at the start)", rss[2]>>20, rss[0]>>20)
	}

	// 200 concurrent normal requests.
	concurrentRound(t, s, 200)
	s.Client.CloseIdleConnections()
	waitClientConns(t, s, 0, 5*time.Second)
}

// waitClientConns waits until skiffd holds at most allowed client
// connections on its HTTP port (the others' clients have closed), and fails
// if it still holds more after d.
func waitClientConns(t *testing.T, s *Sidecar, allowed int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := serverConns(t, s.HTTPPort)
		if n <= allowed {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("skiffd still holds %d client connections (%d expected) %v after their clients closed", n, allowed, d)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serverConns counts TCP sockets with local port port in state
// ESTABLISHED or CLOSE_WAIT (the server side of live or abandoned client
// connections), from /proc/net/tcp and tcp6.
func serverConns(t *testing.T, port int) int {
	n := 0
	hexPort := strings.ToUpper(strconv.FormatInt(int64(port), 16))
	for len(hexPort) < 4 {
		hexPort = "0" + hexPort
	}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 4 {
				continue
			}
			local, st := fs[1], fs[3]
			if strings.HasSuffix(local, ":"+hexPort) && (st == "01" || st == "08") {
				n++
			}
		}
	}
	return n
}

// concurrentRound sends n requests at once (state save+get, invocations,
// healthz), each on its own connection, and checks every answer.
func concurrentRound(t *testing.T, s *Sidecar, n int) {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}
	c := &http.Client{Timeout: 15 * time.Second, Transport: tr}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			var err error
			switch i % 3 {
			case 0:
				err = goodRound(c, s.URL, "conc-"+strconv.Itoa(i))
			case 1:
				err = invokeRound(c, s.URL, s.AppID, i)
			default:
				var resp *http.Response
				resp, err = c.Get(s.URL + "/v1.0/invoke/" + s.AppID + "/method/big/100000")
				if err == nil {
					b, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					switch {
					case rerr != nil:
						err = rerr
					case resp.StatusCode != 200 || len(b) != 100000 || b[99999] != pattern(99999):
						err = io.ErrUnexpectedEOF
					}
				}
			}
			if err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	bad := 0
	for err := range errs {
		if bad < 5 {
			t.Errorf("concurrent request: %v", err)
		}
		bad++
	}
	if bad > 0 {
		t.Errorf("%d of %d concurrent requests failed", bad, n)
	}
}
