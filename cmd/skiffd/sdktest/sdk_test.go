// Package sdktest runs the official Dapr JavaScript SDK (@dapr/dapr, HTTP
// protocol) against skiffd: the JS project beside this file holds the tests
// (node --test) and app.mjs, an app built with the SDK's DaprServer.
//
// TestDaprJSSDK builds skiffd, installs the pinned SDK with npm ci when
// node_modules lacks it, starts skiffd and the SDK app on free ports, waits
// for skiffd to report the app ready, then runs every *.test.mjs file.
//
//	go test ./cmd/skiffd/sdktest -run TestDaprJSSDK -v
package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

const (
	appID        = "sdktest"
	npmCITimeout = 150 * time.Second // a cold npm ci fetches ~140 packages
	buildTimeout = 120 * time.Second
	readyTimeout = 20 * time.Second
	nodeTimeout  = 40 * time.Second
)

func TestDaprJSSDK(t *testing.T) {
	node, npm := findNode(t)
	dir, err := os.Getwd() // go test runs in the package directory
	if err != nil {
		t.Fatal(err)
	}
	// The two slow steps on a cold machine (go build with an empty cache, npm
	// ci with an empty npm cache) run side by side.
	type built struct {
		bin string
		err error
	}
	bc := make(chan built, 1)
	binDir := t.TempDir()
	go func() {
		bin, err := buildSkiffd(binDir)
		bc <- built{bin, err}
	}()
	ensureErr := ensureSDK(t, dir, npm)
	b := <-bc
	if err := errors.Join(ensureErr, b.err); err != nil {
		t.Fatal(err)
	}
	skiffd := b.bin

	httpPort, appPort := freePort(t), freePort(t)
	env := append(os.Environ(),
		"SKIFFD_HTTP_PORT="+strconv.Itoa(httpPort),
		"SKIFFD_APP_PORT="+strconv.Itoa(appPort),
		"SKIFFD_APP_ID="+appID,
	)

	sidecar := start(t, "skiffd", dir, env, skiffd,
		"--app-id", appID,
		"--app-port", strconv.Itoa(appPort),
		"--dapr-http-port", strconv.Itoa(httpPort),
		// Left to skiffd, the internal port could be appPort (reserved,
		// not listening until the app starts).
		"--dapr-internal-grpc-port", strconv.Itoa(freePort(t)),
		"--enable-metrics=false",
	)
	app := start(t, "sdk app", dir, env, node, "app.mjs")
	dumpOnFailure := func() {
		t.Logf("skiffd output:\n%s", sidecar.out.String())
		t.Logf("sdk app output:\n%s", app.out.String())
	}

	// skiffd's /v1.0/healthz turns 204 once the app's port answers, as daprd's
	// does; the SDK app listens before it waits for the sidecar.
	if err := waitReady(httpPort, sidecar, app); err != nil {
		dumpOnFailure()
		t.Fatal(err)
	}

	files, err := filepath.Glob(filepath.Join(dir, "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.test.mjs files in %s (%v)", dir, err)
	}
	sort.Strings(files)
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"--test", "--test-reporter=spec"}, files...)...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	switch {
	case ctx.Err() != nil:
		dumpOnFailure()
		t.Fatalf("node --test did not finish within %s:\n%s", nodeTimeout, out)
	case err != nil:
		dumpOnFailure()
		t.Fatalf("node --test failed (%v):\n%s", err, out)
	}
	t.Logf("node --test:\n%s", out)
}

// findNode returns node and npm, or skips (fails under CI=true) without them.
func findNode(t *testing.T) (node, npm string) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if err := errors.Join(errNode, errNpm); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Dapr JS SDK test needs node and npm, and CI=true: %v", err)
		}
		t.Skipf("skipping the Dapr JS SDK test: node and npm are needed (%v); in CI (CI=true) this fails instead", err)
	}
	return node, npm
}

// ensureSDK runs npm ci unless node_modules already holds the SDK version
// package.json pins.
func ensureSDK(t *testing.T, dir, npm string) error {
	t.Helper()
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	readJSON(t, filepath.Join(dir, "package.json"), &pkg)
	want := pkg.Dependencies["@dapr/dapr"]
	if want == "" {
		t.Fatal("package.json does not depend on @dapr/dapr")
	}
	var installed struct {
		Version string `json:"version"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "@dapr", "dapr", "package.json"))
	if err == nil && json.Unmarshal(b, &installed) == nil && installed.Version == want {
		return nil
	}
	t.Logf("installing @dapr/dapr %s with npm ci (node_modules has %q)", want, installed.Version)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), npmCITimeout)
	defer cancel()
	// --ignore-scripts: nothing the HTTP client and server use needs an
	// install script (only protobufjs has one, a version check).
	cmd := exec.CommandContext(ctx, npm, "ci", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	t.Logf("npm ci took %s", time.Since(began).Round(time.Millisecond))
	return nil
}

func buildSkiffd(dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go tool to build skiffd: %w", err)
	}
	bin := filepath.Join(dir, "skiffd")
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/skiffd/skiff/cmd/skiffd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build skiffd: %v\n%s", err, out)
	}
	return bin, nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// proc is a child process whose output is kept for the log.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error
}

func start(t *testing.T, name, dir string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir, p.cmd.Env = dir, env
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Errorf("%s did not stop within 5 s of SIGINT; killed", name)
		}
	})
	return p
}

func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited early: %v", p.name, p.err)
	default:
		return nil
	}
}

func waitReady(port int, procs ...*proc) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz", port)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		for _, p := range procs {
			if err := p.exited(); err != nil {
				return err
			}
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("skiffd not ready (GET %s) within %s; last: %s", url, readyTimeout, last)
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
