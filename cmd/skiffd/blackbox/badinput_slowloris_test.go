package blackbox

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestBadInputSlowloris: with --skiff-head-timeout 500ms a client dribbling
// its head is cut off, and a crowd of them does not slow anyone else down.
func TestBadInputSlowloris(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "slowloris", AppPort: app.Port, Args: []string{"--skiff-head-timeout", "500ms"}})
	const head = "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nX-Slow-1: aaaaaaaaaaaaaaaaaaaa\r\nX-Slow-2: bbbbbbbbbbbbbbbbbbbbbbbb\r\nX-Slow-3: cccccccccccccccccccc\r\n\r\n"

	// dribble writes head a byte every gap; it returns when the server
	// closes the connection (or the head is all sent and answered) and
	// reports how long the server let it go on.
	dribble := func(c net.Conn, gap time.Duration) (time.Duration, error) {
		start := time.Now()
		closed := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, c) // returns on close/reset
			close(closed)
		}()
		for i := 0; i < len(head); i++ {
			select {
			case <-closed:
				return time.Since(start), nil
			case <-time.After(gap):
			}
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := c.Write([]byte{head[i]}); err != nil {
				return time.Since(start), nil
			}
		}
		select {
		case <-closed:
			return time.Since(start), nil
		case <-time.After(3 * time.Second):
			return time.Since(start), errors.New("the whole head went out slowly and the connection is still open")
		}
	}

	t.Run("one", func(t *testing.T) {
		c := s.dialRaw()
		d, err := dribble(c, 30*time.Millisecond) // the head would take ~4 s
		if err != nil {
			t.Fatal(err)
		}
		if d < 400*time.Millisecond || d > 2*time.Second {
			t.Errorf("dribbling client cut off after %v, want about 500 ms", d)
		}
	})

	t.Run("a head sent slowly but in time is served", func(t *testing.T) {
		c := s.dialRaw()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		for i := 0; i < len(head); i += 40 {
			_, _ = c.Write([]byte(head[i:min(i+40, len(head))]))
			time.Sleep(50 * time.Millisecond) // 4 pieces: ~200 ms
		}
		r, err := readResp(bufio.NewReader(c), "GET")
		if err != nil || r.Status != 204 {
			t.Errorf("head sent over ~200 ms: %v %d", err, r.Status)
		}
	})

	t.Run("an idle keep-alive connection is not a slow head", func(t *testing.T) {
		c := s.dialRaw()
		br := bufio.NewReader(c)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		writeAll(c, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		if r, err := readResp(br, "GET"); err != nil || r.Status != 204 {
			t.Fatalf("first request: %v %d", err, r.Status)
		}
		time.Sleep(800 * time.Millisecond)
		writeAll(c, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		if r, err := readResp(br, "GET"); err != nil || r.Status != 204 {
			// net/http (daprd) keeps idle connections open; closing them
			// after the head timeout breaks clients' connection reuse.
			t.Errorf("request on a connection idle for 800 ms (> head timeout): %v %d", err, r.Status)
		}
	})

	t.Run("crowd", func(t *testing.T) {
		const n = 150
		var wg sync.WaitGroup
		durs := make([]time.Duration, n)
		errs := make([]error, n)
		conns := make([]net.Conn, n)
		for i := range conns {
			conns[i] = s.dialRaw()
		}
		stopLat := make(chan struct{})
		var worst time.Duration
		var latErr error
		latDone := make(chan struct{})
		go func() { // a normal client, timing each request
			defer close(latDone)
			c := &http.Client{Timeout: 5 * time.Second}
			defer c.CloseIdleConnections()
			for i := 0; ; i++ {
				select {
				case <-stopLat:
					return
				default:
				}
				st := time.Now()
				if err := goodRound(c, s.URL, "crowd"); err != nil {
					latErr = err
					return
				}
				worst = max(worst, time.Since(st))
				time.Sleep(10 * time.Millisecond)
			}
		}()
		for i := range conns {
			wg.Go(func() { durs[i], errs[i] = dribble(conns[i], 50*time.Millisecond) })
		}
		wg.Wait()
		close(stopLat)
		<-latDone
		if latErr != nil {
			t.Errorf("normal client among %d slow ones: %v", n, latErr)
		}
		if worst > 500*time.Millisecond {
			t.Errorf("normal client among %d slow ones: slowest round %v", n, worst)
		}
		late := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("slow client %d: %v", i, errs[i])
			} else if durs[i] > 2500*time.Millisecond {
				late++
			}
		}
		if late > 0 {
			t.Errorf("%d of %d slow clients were cut off later than 2.5 s", late, n)
		}
		t.Logf("worst normal round among %d slow clients: %v", n, worst)
	})
	s.checkAlive(true)
}
