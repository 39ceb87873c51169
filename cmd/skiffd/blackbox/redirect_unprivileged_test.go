package blackbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Started without privileges, skiffd says in one line why the shortcut is
// off and serves on plain TCP; with --ebpf-redirect=on it refuses to start.
// As root the test drops to nobody for skiffd.
func TestRedirectUnprivilegedFallback(t *testing.T) {
	start := func(mode string) (*exec.Cmd, *syncBuffer, int) {
		port := freePort(t)
		cmd := exec.Command(bins.skiffd, "--app-id", "unpriv", "--log-level", "info", "--ebpf-redirect", mode,
			"--dapr-http-port", strconv.Itoa(port), "--dapr-grpc-port", strconv.Itoa(freePort(t)),
			"--metrics-port", strconv.Itoa(freePort(t)))
		if os.Geteuid() == 0 {
			// The binary's directory must be reachable for nobody.
			_ = os.Chmod(filepath.Dir(bins.skiffd), 0o755)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		return cmd, &stderr, port
	}

	cmd, stderr, port := start("auto")
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	var md struct {
		Extended map[string]string `json:"extended"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := http.Get(base + "/v1.0/metadata")
		if err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if err := json.Unmarshal(b, &md); err != nil {
				t.Fatalf("metadata: %v: %s", err, b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("skiffd does not answer: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := md.Extended["ebpfRedirect"]
	if !strings.HasPrefix(st, "inactive: ") || !strings.Contains(st, "root") {
		t.Fatalf("ebpfRedirect = %q; want inactive with the reason", st)
	}
	r, err := http.Post(base+"/v1.0/state/statestore", "application/json", bytes.NewReader([]byte(`[{"key":"k","value":1}]`)))
	if err != nil || r.StatusCode != 204 {
		t.Fatalf("save on plain TCP: %v %v", err, r)
	}
	r.Body.Close()
	if n := strings.Count(stderr.String(), "eBPF redirect"); n != 1 {
		t.Fatalf("%d log lines about the eBPF redirect; want 1:\n%s", n, stderr.String())
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_, _ = cmd.Process.Wait()

	on, onErr, _ := start("on")
	done := make(chan error, 1)
	go func() { done <- on.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("--ebpf-redirect=on without privileges started")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("--ebpf-redirect=on without privileges did not fail\n%s", onErr.String())
	}
	if !strings.Contains(onErr.String(), "ebpf redirect") {
		t.Fatalf("no reason given:\n%s", onErr.String())
	}
}
