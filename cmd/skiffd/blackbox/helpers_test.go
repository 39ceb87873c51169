// Package blackbox runs the real skiffd binary against the real
// skiff-testapp, one scenario per file. TestMain builds both once; every test
// starts its own sidecar on free ports and stops it with SIGTERM, checking it
// exits 0 within its grace period.
package blackbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// bins are the binaries TestMain built.
var bins struct{ skiffd, app string }

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "skiff-blackbox-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bins.skiffd = filepath.Join(dir, "skiffd")
	bins.app = filepath.Join(dir, "skiff-testapp")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, b := range []struct{ out, pkg string }{
		{bins.skiffd, "github.com/skiffd/skiff/cmd/skiffd"},
		{bins.app, "github.com/skiffd/skiff/cmd/skiff-testapp"},
	} {
		wg.Go(func() {
			cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// ---- ports ----

var portMu sync.Mutex
var portsGiven = map[int]bool{}

// freePort returns a loopback TCP port nothing listens on, never the same
// twice in this process.
func freePort(t testing.TB) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !portsGiven[p] {
			portsGiven[p] = true
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

// ---- the test app ----

// App is a running skiff-testapp.
type App struct {
	Port int
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// startApp starts skiff-testapp on port (0: a free one) and waits until it
// accepts connections. It is stopped at the end of the test.
func startApp(t testing.TB, port int) *App {
	t.Helper()
	if port == 0 {
		port = freePort(t)
	}
	a := &App{Port: port, done: make(chan struct{})}
	a.cmd = exec.Command(bins.app, "--port", strconv.Itoa(port))
	a.cmd.Stderr = os.Stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(a.Stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", a.Addr(), time.Second)
		if err == nil {
			c.Close()
			return a
		}
		select {
		case <-a.done:
			t.Fatalf("skiff-testapp on port %d exited at start", port)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("skiff-testapp on port %d does not listen: %v", port, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (a *App) Addr() string { return "127.0.0.1:" + strconv.Itoa(a.Port) }

// Stop kills the app and waits for it to be gone.
func (a *App) Stop() {
	a.once.Do(func() {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(5 * time.Second):
			_ = a.cmd.Process.Kill()
			<-a.done
		}
	})
}

// ---- the sidecar ----

// Opts configures startSidecar.
type Opts struct {
	AppID   string // default: the test's name, sanitised
	AppPort int    // 0: no --app-port
	Args    []string
	Env     []string // added to the environment
	// NoHTTPPort leaves --dapr-http-port out (for --unix-domain-socket).
	NoHTTPPort bool
	// NoWait returns once the process is started, without waiting for
	// healthz 204 (the test waits for what it needs).
	NoWait bool
	// Grace is the time SIGTERM is given (default 5 s, daprd's default
	// --dapr-graceful-shutdown-seconds) plus a margin.
	Grace time.Duration
}

// Sidecar is a running skiffd.
type Sidecar struct {
	t        testing.TB
	AppID    string
	HTTPPort int
	URL      string // http://127.0.0.1:port
	Client   *http.Client
	cmd      *exec.Cmd
	stderr   *syncBuffer
	stdout   *syncBuffer
	done     chan struct{}
	exitCode int
	grace    time.Duration
	stopped  atomic.Bool
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func sanitizeID(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	return strings.Trim(s, "-")
}

// sidecarArgs returns the command line startSidecar would use, and the
// HTTP port in it.
func sidecarArgs(t testing.TB, o *Opts) ([]string, int) {
	if o.AppID == "" {
		o.AppID = sanitizeID(t.Name())
	}
	args := []string{"--app-id", o.AppID,
		"--dapr-grpc-port", strconv.Itoa(freePort(t)),
		"--metrics-port", strconv.Itoa(freePort(t)),
		// Left to skiffd, the internal port is any free one, possibly one a
		// test reserved for an app that is not listening yet.
		"--dapr-internal-grpc-port", strconv.Itoa(freePort(t)),
		"--log-level", "warn",
	}
	port := 0
	if !o.NoHTTPPort {
		port = freePort(t)
		args = append(args, "--dapr-http-port", strconv.Itoa(port))
	}
	if o.AppPort != 0 {
		args = append(args, "--app-port", strconv.Itoa(o.AppPort))
	}
	return append(args, o.Args...), port
}

// startSidecar starts skiffd. At the end of the test it sends SIGTERM and
// checks that skiffd exits 0 within the grace period.
func startSidecar(t testing.TB, o Opts) *Sidecar {
	t.Helper()
	args, port := sidecarArgs(t, &o)
	return startSidecarArgs(t, o, args, port)
}

func startSidecarArgs(t testing.TB, o Opts, args []string, port int) *Sidecar {
	t.Helper()
	s := &Sidecar{t: t, AppID: o.AppID, HTTPPort: port, URL: "http://127.0.0.1:" + strconv.Itoa(port),
		stderr: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan struct{}), grace: o.Grace}
	if s.grace == 0 {
		s.grace = 5 * time.Second
	}
	s.grace += 2 * time.Second
	s.Client = &http.Client{
		Timeout:       20 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	s.cmd = exec.Command(bins.skiffd, args...)
	s.cmd.Env = append(os.Environ(), o.Env...)
	s.cmd.Stderr = s.stderr
	s.cmd.Stdout = s.stdout
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := s.cmd.Wait()
		s.exitCode = 0
		if err != nil {
			s.exitCode = -1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				s.exitCode = ee.ExitCode()
			}
		}
		close(s.done)
	}()
	t.Cleanup(s.stopAndCheck)
	if o.NoWait {
		return s
	}
	s.waitHealthy(10 * time.Second)
	return s
}

// waitHealthy polls /v1.0/healthz until it answers 204.
func (s *Sidecar) waitHealthy(d time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	c := &http.Client{Timeout: time.Second}
	last := "no answer"
	for {
		select {
		case <-s.done:
			s.t.Fatalf("skiffd exited with %d before it was healthy; stderr:\n%s", s.exitCode, s.stderr.String())
		default:
		}
		resp, err := c.Get(s.URL + "/v1.0/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 204 {
				c.CloseIdleConnections()
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("skiffd not healthy after %v (%s); stderr:\n%s", d, last, s.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitListening waits until the HTTP port accepts connections.
func (s *Sidecar) waitListening(d time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-s.done:
			s.t.Fatalf("skiffd exited with %d; stderr:\n%s", s.exitCode, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("skiffd does not listen after %v: %v", d, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Sidecar) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.HTTPPort) }

// Stderr is what skiffd wrote to stderr so far.
func (s *Sidecar) Stderr() string { return s.stderr.String() }

// WaitExit waits up to d for the process to exit and returns its exit code.
func (s *Sidecar) WaitExit(d time.Duration) (int, bool) {
	select {
	case <-s.done:
		return s.exitCode, true
	case <-time.After(d):
		return 0, false
	}
}

// Terminate sends SIGTERM.
func (s *Sidecar) Terminate() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
}

// Exited reports whether the process has exited.
func (s *Sidecar) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stopAndCheck is the cleanup: SIGTERM, then exit 0 within the grace period.
func (s *Sidecar) stopAndCheck() {
	s.Client.CloseIdleConnections()
	if s.stopped.Swap(true) {
		return
	}
	if !s.Exited() {
		s.Terminate()
	}
	code, ok := s.WaitExit(s.grace)
	if !ok {
		_ = s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("skiffd did not exit within %v of SIGTERM; stderr:\n%s", s.grace, tail(s.Stderr(), 4000))
		return
	}
	if code != 0 {
		s.t.Errorf("skiffd exited with %d after SIGTERM; stderr:\n%s", code, tail(s.Stderr(), 4000))
	}
}

// MarkStopped tells the cleanup that the test checked the exit itself.
func (s *Sidecar) MarkStopped() { s.stopped.Store(true) }

// RSS is the resident set size of skiffd in bytes, from /proc.
func (s *Sidecar) RSS() int64 {
	s.t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		s.t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	s.t.Fatal("no VmRSS")
	return 0
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// ---- HTTP helpers ----

// Resp is a complete response.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends one request with net/http and reads the whole answer.
func (s *Sidecar) do(method, path string, body []byte, hdr ...string) Resp {
	s.t.Helper()
	r, err := s.try(method, path, body, hdr...)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// try is do that returns errors.
func (s *Sidecar) try(method, path string, body []byte, hdr ...string) (Resp, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return Resp{}, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return Resp{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Resp{}, fmt.Errorf("reading body: %w", err)
	}
	return Resp{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// APIError is Dapr's JSON error body.
type APIError struct {
	ErrorCode string `json:"errorCode"`
	Message   string `json:"message"`
}

// wantStatus fails unless r has status st.
func wantStatus(t testing.TB, what string, r Resp, st int) {
	t.Helper()
	if r.Status != st {
		t.Errorf("%s: status %d, want %d; body %q", what, r.Status, st, trunc(r.Body))
	}
}

// wantAPIError fails unless r is status st with Dapr error code code and a
// message containing each of msgParts.
func wantAPIError(t testing.TB, what string, r Resp, st int, code string, msgParts ...string) APIError {
	t.Helper()
	var e APIError
	if r.Status != st {
		t.Errorf("%s: status %d, want %d; body %q", what, r.Status, st, trunc(r.Body))
	}
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Errorf("%s: body is not a Dapr JSON error: %v; body %q", what, err, trunc(r.Body))
		return e
	}
	if e.ErrorCode != code {
		t.Errorf("%s: errorCode %q, want %q (message %q)", what, e.ErrorCode, code, e.Message)
	}
	for _, p := range msgParts {
		if !strings.Contains(e.Message, p) {
			t.Errorf("%s: message %q does not contain %q", what, e.Message, p)
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q for a JSON error", what, ct)
	}
	return e
}

func trunc(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// ---- raw connections ----

// dialRaw opens a raw TCP connection to the sidecar, closed at the end.
func (s *Sidecar) dialRaw() net.Conn {
	s.t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// readResp reads one response from br (the request method tells whether a
// body follows).
func readResp(br *bufio.Reader, method string) (Resp, error) {
	req, _ := http.NewRequest(method, "/", nil)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return Resp{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Resp{}, err
	}
	r := Resp{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if resp.Close {
		r.Header.Set("X-Test-Close", "1")
	}
	return r, nil
}

// rawExchange writes raw on a new connection and reads one response.
func (s *Sidecar) rawExchange(raw string) (Resp, net.Conn, *bufio.Reader) {
	s.t.Helper()
	c := s.dialRaw()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		s.t.Fatalf("write: %v", err)
	}
	br := bufio.NewReader(c)
	r, err := readResp(br, "GET")
	if err != nil {
		s.t.Fatalf("reading the answer to %q: %v", trunc([]byte(raw)), err)
	}
	return r, c, br
}

// expectClosed fails unless the server closes c (EOF or reset) within d,
// after any bytes still buffered in br.
func expectClosed(t testing.TB, what string, c net.Conn, br io.Reader, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: connection still open after %v", what, d)
		return
	}
	if n > 0 {
		t.Logf("%s: %d more bytes before the close", what, n)
	}
}

// ---- liveness checks ----

// checkAlive fails unless the sidecar still answers correctly: healthz,
// a state round trip, and (with an app) an invocation, on a new connection.
func (s *Sidecar) checkAlive(withApp bool) {
	s.t.Helper()
	if s.Exited() {
		s.t.Fatalf("skiffd exited (%d); stderr:\n%s", s.exitCode, tail(s.Stderr(), 4000))
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	if err := goodRound(c, s.URL, "alive"); err != nil {
		s.t.Fatalf("skiffd misbehaves after the abuse: %v", err)
	}
	if withApp {
		if err := invokeRound(c, s.URL, s.AppID, 1); err != nil {
			s.t.Fatalf("skiffd misbehaves after the abuse: %v", err)
		}
	}
}

// goodRound does healthz and a state save and get of key, and checks each
// answer.
func goodRound(c *http.Client, base, key string) error {
	get := func(method, path string, body string, want int) ([]byte, error) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		resp, err := c.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: body: %w", method, path, err)
		}
		if resp.StatusCode != want {
			return nil, fmt.Errorf("%s %s: status %d, want %d; body %q", method, path, resp.StatusCode, want, trunc(b))
		}
		return b, nil
	}
	if _, err := get("GET", "/v1.0/healthz", "", 204); err != nil {
		return err
	}
	val := strconv.Quote("value of " + key)
	if _, err := get("POST", "/v1.0/state/statestore", `[{"key":"`+key+`","value":`+val+`}]`, 204); err != nil {
		return err
	}
	b, err := get("GET", "/v1.0/state/statestore/"+key, "", 200)
	if err != nil {
		return err
	}
	if string(b) != val {
		return fmt.Errorf("GET state %s: %q, want %q", key, b, val)
	}
	return nil
}

// wellBehaved runs a client in the background that keeps one keep-alive
// connection busy with correct requests while a test abuses skiffd.
type wellBehaved struct {
	stop   chan struct{}
	done   chan struct{}
	rounds atomic.Int64
	err    atomic.Value // error
}

func (s *Sidecar) startWellBehaved(withApp bool) *wellBehaved {
	w := &wellBehaved{stop: make(chan struct{}), done: make(chan struct{})}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	base, appID := s.URL, s.AppID
	go func() {
		defer close(w.done)
		defer c.CloseIdleConnections()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			err := goodRound(c, base, "wb-"+strconv.Itoa(i))
			if err == nil && withApp {
				err = invokeRound(c, base, appID, i)
			}
			if err != nil {
				w.err.Store(err)
				return
			}
			w.rounds.Add(1)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return w
}

// finish stops the client and fails the test if any of its rounds failed
// or none ran.
func (w *wellBehaved) finish(t testing.TB) {
	t.Helper()
	close(w.stop)
	<-w.done
	if err, _ := w.err.Load().(error); err != nil {
		t.Errorf("well-behaved client during the abuse: %v", err)
	}
	if w.rounds.Load() == 0 {
		t.Errorf("well-behaved client completed no round during the abuse")
	}
}

// invokeRound invokes the test app's /echo-raw and checks the echo.
func invokeRound(c *http.Client, base, appID string, i int) error {
	body := "hello " + strconv.Itoa(i)
	resp, err := c.Post(base+"/v1.0/invoke/"+appID+"/method/echo-raw/"+strconv.Itoa(i), "text/plain", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("invoke: body: %w", err)
	}
	if resp.StatusCode != 200 || string(b) != body {
		return fmt.Errorf("invoke: %d %q, want 200 %q", resp.StatusCode, trunc(b), body)
	}
	return nil
}

func mkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// underAbuse runs abuse while a well-behaved client keeps working on its
// own connection, then checks that client and a fresh one got correct
// answers and that skiffd still runs.
func (s *Sidecar) underAbuse(withApp bool, abuse func()) {
	s.t.Helper()
	w := s.startWellBehaved(withApp)
	abuse()
	w.finish(s.t)
	s.checkAlive(withApp)
}

// FDs is the number of open file descriptors of skiffd.
func (s *Sidecar) FDs() int {
	s.t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/fd")
	if err != nil {
		s.t.Fatal(err)
	}
	return len(ents)
}

// writeAll writes raw, ignoring errors (the server may close first).
func writeAll(c net.Conn, raw string) {
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, raw)
}
