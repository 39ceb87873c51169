package blackbox

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFlagsVersion: --version prints the bare Dapr version, as the dapr CLI
// parses it.
func TestFlagsVersion(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bins.skiffd, "--version")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("--version: %v; stderr %s", err, stderr.String())
	}
	if stdout.String() != "1.18.3\n" {
		t.Errorf("--version printed %q, want %q", stdout.String(), "1.18.3\n")
	}
}

// TestFlagsBuildInfo: --build-info exits 0 and prints daprd's three lines,
// "Version: …", "Git Commit: …", "Git Version: …".
func TestFlagsBuildInfo(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bins.skiffd, "--build-info")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("--build-info: %v; stderr %s", err, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "1.18.3") {
		t.Errorf("--build-info does not name 1.18.3: %q", out)
	}
	// daprd: fmt.Printf("Version: %s\nGit Commit: %s\nGit Version: %s\n", …)
	if !strings.HasPrefix(out, "Version: 1.18.3\n") || !strings.Contains(out, "\nGit Commit: ") || !strings.Contains(out, "\nGit Version: ") {
		t.Errorf("--build-info is not in daprd's format (Version:/Git Commit:/Git Version:): %q", out)
	}
}

// daprConfig is what `dapr init` writes to ~/.dapr/config.yaml.
const daprConfig = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: daprConfig
spec:
  tracing:
    samplingRate: "1"
    zipkin:
      endpointAddress: http://localhost:9411/api/v2/spans
`

// defaultComponents is what `dapr init` writes to ~/.dapr/components, with
// the in-memory store instead of Redis.
const defaultComponents = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.in-memory
  version: v1
  metadata:
  - name: actorStateStore
    value: "true"
`

// checkServes checks state and invocation through s.
func checkServes(t *testing.T, s *Sidecar, appID string) {
	t.Helper()
	wantStatus(t, "save", s.do("POST", store, []byte(`[{"key":"k","value":"v"}]`)), 204)
	if r := s.do("GET", store+"/k", nil); r.Status != 200 || string(r.Body) != `"v"` {
		t.Errorf("get: %d %q", r.Status, r.Body)
	}
	e := decodeEcho(t, "invoke", s.do("POST", "/v1.0/invoke/"+appID+"/method/echo/flags", []byte("x")))
	if e.Path != "/echo/flags" || e.Body != "x" {
		t.Errorf("invoke: the app saw %+v", e)
	}
}

// TestFlagsDaprRun starts skiffd with the command line `dapr run` uses.
func TestFlagsDaprRun(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	home := t.TempDir()
	cfg := writeFile(t, home, "config.yaml", daprConfig)
	comps := filepath.Join(home, "components")
	mkdir(t, comps)
	writeFile(t, comps, "statestore.yaml", defaultComponents)
	port := freePort(t)
	p := func() string { return strconv.Itoa(freePort(t)) }
	args := []string{
		"--config", cfg, "--app-protocol", "http", "--log-level", "info", "--app-max-concurrency", "-1",
		"--placement-host-address", "localhost:50005", "--resources-path", comps,
		"--max-body-size", "4Mi", "--read-buffer-size", "4Ki", "--scheduler-host-address", "localhost:50006",
		"--app-id", "daprrun", "--app-port", strconv.Itoa(app.Port), "--dapr-http-port", strconv.Itoa(port),
		"--dapr-grpc-port", p(), "--profile-port", "-1", "--metrics-port", p(), "--dapr-internal-grpc-port", p(),
	}
	s := startSidecarArgs(t, Opts{AppID: "daprrun"}, args, port)
	checkServes(t, s, "daprrun")
	// What `dapr run` does next.
	wantStatus(t, "PUT cliPID", s.do("PUT", "/v1.0/metadata/cliPID", []byte("1")), 204)
}

// TestFlagsAll starts skiffd with every daprd flag of reference.md.
func TestFlagsAll(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	home := t.TempDir()
	cfg := writeFile(t, home, "config.yaml", daprConfig)
	comps := filepath.Join(home, "components")
	mkdir(t, comps)
	writeFile(t, comps, "statestore.yaml", defaultComponents)
	old := filepath.Join(home, "old")
	mkdir(t, old)
	port := freePort(t)
	p := func() string { return strconv.Itoa(freePort(t)) }
	args := []string{
		// App.
		"--app-id", "allflags", "--app-port", strconv.Itoa(app.Port), "--app-protocol", "http",
		"--app-channel-address", "127.0.0.1", "--app-max-concurrency", "-1",
		"--enable-app-health-check", "--app-health-check-path", "/echo/healthz",
		"--app-health-probe-interval", "5", "--app-health-probe-timeout", "500", "--app-health-threshold", "3",
		// Ports.
		"--dapr-http-port", strconv.Itoa(port), "--dapr-grpc-port", p(), "--dapr-internal-grpc-port", p(),
		"--dapr-listen-addresses", "127.0.0.1", "--dapr-public-port", p(),
		"--metrics-port", p(), "--metrics-listen-address", "127.0.0.1", "--profile-port", p(),
		// Resources.
		"--mode", "standalone", "--resources-path", comps, "--components-path", old, "--config", cfg,
		"--max-body-size", "4Mi", "--read-buffer-size", "4Ki", "--allowed-origins", "*",
		// Control plane.
		"--placement-host-address", "localhost:50005", "--scheduler-host-address", "localhost:50006",
		"--sentry-address", "localhost:50001", "--enable-mtls=false", "--control-plane-address", "localhost:50007",
		// Ops.
		"--enable-metrics", "--log-level", "debug", "--log-as-json", "--enable-api-logging",
		"--dapr-graceful-shutdown-seconds", "5", "--dapr-block-shutdown-duration", "1s", "--enable-profiling",
	}
	s := startSidecarArgs(t, Opts{AppID: "allflags"}, args, port)
	// With app health checks on, invocation waits for the first probe's
	// answer (on a loaded machine it can come after healthz says ready).
	s.waitAppHealth(t, "HEALTHY")
	checkServes(t, s, "allflags")
	// --dapr-block-shutdown-duration 1s: the exit may take that long; the
	// cleanup's grace period covers it.
}

// TestFlagsUnixDomainSocket: --unix-domain-socket DIR serves the HTTP API on
// DIR/dapr-http-<appid>.socket.
func TestFlagsUnixDomainSocket(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	dir := t.TempDir()
	o := Opts{AppID: "udsapp", AppPort: app.Port, NoHTTPPort: true, NoWait: true, Args: []string{"--unix-domain-socket", dir}}
	s := startSidecar(t, o)
	sock := filepath.Join(dir, "dapr-http-udsapp.socket")
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	defer c.CloseIdleConnections()
	get := func(method, path, body string) (int, string, error) {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, "http://unix"+path, rd)
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, err := get("GET", "/v1.0/healthz", "")
		if err == nil && st == 204 {
			break
		}
		if s.Exited() || time.Now().After(deadline) {
			t.Fatalf("no healthz 204 on %s (%d, %v); stderr:\n%s", sock, st, err, s.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st, b, err := get("POST", store, `[{"key":"u","value":"uds"}]`); err != nil || st != 204 {
		t.Errorf("save over the socket: %d %q %v", st, b, err)
	}
	if st, b, err := get("GET", store+"/u", ""); err != nil || st != 200 || b != `"uds"` {
		t.Errorf("get over the socket: %d %q %v", st, b, err)
	}
	if st, b, err := get("POST", "/v1.0/invoke/udsapp/method/echo-raw/u", "hi"); err != nil || st != 200 || b != "hi" {
		t.Errorf("invoke over the socket: %d %q %v", st, b, err)
	}
	// The socket file goes away with the sidecar.
	s.Terminate()
	if code, ok := s.WaitExit(7 * time.Second); !ok || code != 0 {
		t.Fatalf("exit after SIGTERM: code %d, exited %v", code, ok)
	}
	s.MarkStopped()
	if _, err := net.Dial("unix", sock); err == nil {
		t.Errorf("%s still accepts connections after exit", sock)
	}
}

// TestFlagsBadValues: a flag skiffd cannot honour stops it with a non-zero
// exit instead of serving something else.
func TestFlagsBadValues(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"--max-body-size", "lots"},
		{"--app-port", "notaport"},
		{"--mode", "kubernetes"},
	} {
		var stderr bytes.Buffer
		cmd := exec.Command(bins.skiffd, append([]string{"--app-id", "bad", "--dapr-http-port", strconv.Itoa(freePort(t))}, args...)...)
		cmd.Stderr = &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("skiffd %v exited 0", args)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("skiffd %v kept running", args)
		}
	}
}
