//go:build kerneltest

package kerneltest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// skiffPrograms lists the IDs of loaded programs and maps that carry skiff's
// names (every skiffd on the host, and these tests' own).
func skiffObjects(t *testing.T) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for id := ebpf.ProgramID(0); ; {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			break
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		if info, err := p.Info(); err == nil && strings.HasPrefix(info.Name, "skiff_") {
			ids[fmt.Sprintf("prog %d %s", id, info.Name)] = true
		}
		p.Close()
	}
	for id := ebpf.MapID(0); ; {
		next, err := ebpf.MapGetNextID(id)
		if err != nil {
			break
		}
		id = next
		m, err := ebpf.NewMapFromID(id)
		if err != nil {
			continue
		}
		if info, err := m.Info(); err == nil && strings.HasPrefix(info.Name, "skiff_") {
			ids[fmt.Sprintf("map %d %s", id, info.Name)] = true
		}
		m.Close()
	}
	return ids
}

func buildSkiffd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "skiffd")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/skiffd/skiff/cmd/skiffd").CombinedOutput()
	if err != nil {
		t.Fatalf("go build skiffd: %v\n%s", err, out)
	}
	return bin
}

type skiffd struct {
	cmd  *exec.Cmd
	port int
}

func startSkiffd(t *testing.T, bin string, port, appPort int) *skiffd {
	t.Helper()
	grpc, _ := freePort(t)
	cmd := exec.Command(bin, "--app-id", "kt", "--ebpf-redirect", "on", "--log-level", "warn",
		"--dapr-http-port", fmt.Sprint(port), "--dapr-grpc-port", fmt.Sprint(grpc), "--app-port", fmt.Sprint(appPort))
	logPath := filepath.Join(t.TempDir(), "skiffd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &skiffd{cmd: cmd, port: port}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("skiffd log:\n%s", b)
		}
	})
	eventually(t, "skiffd answering", func() bool {
		r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/v1.0/healthz/outbound", port))
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 204
	})
	return s
}

func freePort(t *testing.T) (int, error) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// metadataRedirect reads ebpfRedirect* from GET /v1.0/metadata over c
// (keep-alive, so the same redirected connection is measured).
func metadataRedirect(t *testing.T, c net.Conn, br *bufio.Reader) map[string]string {
	t.Helper()
	if _, err := c.Write([]byte("GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var md struct {
		Extended map[string]string `json:"extended"`
	}
	if err := json.NewDecoder(r.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	return md.Extended
}

// skiffd killed with SIGKILL leaves nothing behind (its programs, links and
// maps go with its file descriptors), connections to the app port that do
// not involve skiffd keep their data intact across the kill, and a restarted
// skiffd shortcuts again.
func TestSkiffdKilledAndRestarted(t *testing.T) {
	need(t)
	bin := buildSkiffd(t)
	appLn, appPort := echoServer(t, "tcp4", "127.0.0.1:0")
	port, _ := freePort(t)
	before := skiffObjects(t)
	s := startSkiffd(t, bin, port, int(appPort))

	c := dial(t, "tcp4", fmt.Sprint("127.0.0.1:", port))
	br := bufio.NewReader(c)
	md := metadataRedirect(t, c, br)
	if md["ebpfRedirect"] != "active" {
		t.Fatalf("ebpfRedirect = %q", md["ebpfRedirect"])
	}
	md = metadataRedirect(t, c, br)
	if md["ebpfRedirectMsgs"] == "0" || md["ebpfRedirectMsgs"] == "" {
		t.Fatalf("counters did not move: %v", md)
	}
	if n := dataSegsOut(t, c); n != 0 {
		t.Fatalf("%d TCP data segments to skiffd; want 0", n)
	}
	var mine []string
	for k := range skiffObjects(t) {
		if !before[k] {
			mine = append(mine, k)
		}
	}
	if len(mine) < 5 {
		t.Fatalf("skiffd's programs and maps not found: %v", mine)
	}

	// A stream between a third party and the app port (in skiffd's port
	// map, so shortcut) runs across the kill.
	third := dial(t, "tcp4", appLn.Addr().String())
	done := make(chan error, 1)
	go func() { done <- exchange(third, 4*eightMiB, 77) }()
	time.Sleep(50 * time.Millisecond)

	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = s.cmd.Process.Wait()
	// Its sockops link went with its fds: no new connection enters its map.
	eventually(t, "the killed skiffd's sockops program to go", func() bool {
		now := skiffObjects(t)
		for _, k := range mine {
			if strings.HasSuffix(k, " skiff_sockops") && now[k] {
				return false
			}
		}
		return true
	})
	if _, err := c.Write([]byte("GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err == nil {
		if _, err := http.ReadResponse(br, nil); err == nil {
			t.Fatal("a connection to the killed skiffd still answered")
		}
	}

	startSkiffd(t, bin, port, int(appPort))
	c2 := dial(t, "tcp4", fmt.Sprint("127.0.0.1:", port))
	br2 := bufio.NewReader(c2)
	md = metadataRedirect(t, c2, br2)
	if md["ebpfRedirect"] != "active" {
		t.Fatalf("after restart: ebpfRedirect = %q", md["ebpfRedirect"])
	}
	if n := dataSegsOut(t, c2); n != 0 {
		t.Fatalf("after restart: %d TCP data segments; want 0", n)
	}
	// The restarted skiffd emptied the orphan's port map (its sk_msg
	// program stops redirecting); the stream runs on over TCP, intact.
	if md["ebpfRedirectStaleReleased"] == "0" {
		t.Fatalf("the killed run's port map was not released: %v", md)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream across the kill and the restart: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("stream stalled after the kill")
	}
	// The orphan (sk_msg program and maps, held by the sockets still in
	// its map) goes with the last of those sockets.
	c.Close()
	third.Close()
	eventually(t, "the killed skiffd's programs and maps to go", func() bool {
		now := skiffObjects(t)
		for _, k := range mine {
			if now[k] {
				return false
			}
		}
		return true
	})

}
