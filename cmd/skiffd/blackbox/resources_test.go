package blackbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestResources: a resources directory with a state.in-memory component
// named mystore (keyPrefix: name) replaces the embedded statestore.
func TestResources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "mystore.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: mystore
spec:
  type: state.in-memory
  version: v1
  metadata:
  - name: keyPrefix
    value: name
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: bare
spec:
  type: state.in-memory
  version: v1
  metadata:
  - name: keyPrefix
    value: none
`)
	// Not a component: skipped, not an error.
	writeFile(t, dir, "notes.txt", "not yaml at all: [")
	s := startSidecar(t, Opts{AppID: "resapp", Args: []string{"--resources-path", dir}})

	wantStatus(t, "save mystore", s.do("POST", "/v1.0/state/mystore", []byte(`[{"key":"k","value":"mine"}]`)), 204)
	if r := s.do("GET", "/v1.0/state/mystore/k", nil); r.Status != 200 || string(r.Body) != `"mine"` {
		t.Errorf("get mystore/k: %d %q", r.Status, r.Body)
	}
	e := wantAPIError(t, "etag mismatch on mystore", s.do("POST", "/v1.0/state/mystore", []byte(`[{"key":"k","value":1,"etag":"x"}]`)), 409, "ERR_STATE_SAVE")
	if !strings.Contains(e.Message, "key=mystore||k") {
		t.Errorf("keyPrefix name: message %q does not name the stored key mystore||k", e.Message)
	}
	wantStatus(t, "save bare", s.do("POST", "/v1.0/state/bare", []byte(`[{"key":"k","value":"b"}]`)), 204)
	e = wantAPIError(t, "etag mismatch on bare", s.do("POST", "/v1.0/state/bare", []byte(`[{"key":"k","value":1,"etag":"x"}]`)), 409, "ERR_STATE_SAVE")
	if !strings.Contains(e.Message, "key=k:") {
		t.Errorf("keyPrefix none: message %q does not name the stored key k", e.Message)
	}
	// Separate stores.
	if r := s.do("GET", "/v1.0/state/mystore/k", nil); string(r.Body) != `"mine"` {
		t.Errorf("mystore/k after writing bare/k: %q", r.Body)
	}
	// With --resources-path the embedded statestore is gone.
	wantAPIError(t, "statestore absent", s.do("GET", "/v1.0/state/statestore/k", nil), 400, "ERR_STATE_STORE_NOT_FOUND", "statestore")

	r := s.do("GET", "/v1.0/metadata", nil)
	if !strings.Contains(string(r.Body), `"name":"mystore"`) || !strings.Contains(string(r.Body), `"name":"bare"`) || strings.Contains(string(r.Body), `"name":"statestore"`) {
		t.Errorf("metadata components: %s", r.Body)
	}
}

// startFailing runs skiffd expecting it to exit non-zero at startup and
// returns its stderr.
func startFailing(t *testing.T, args ...string) string {
	t.Helper()
	s := startSidecar(t, Opts{NoWait: true, Args: args})
	code, ok := s.WaitExit(10 * time.Second)
	s.MarkStopped()
	if !ok {
		_ = s.cmd.Process.Kill()
		t.Fatalf("skiffd %v still runs after 10 s", args)
	}
	if code == 0 {
		t.Errorf("skiffd %v exited 0", args)
	}
	return s.Stderr()
}

// TestResourcesBrokenYAML: a broken YAML file stops startup, naming file:line.
func TestResourcesBrokenYAML(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "good.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: good
spec:
  type: state.in-memory
  version: v1
`)
	p := writeFile(t, dir, "broken.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: broken
spec:
  type: state.in-memory
  version: v1
  metadata:
  - name: keyPrefix
    value: [unclosed
`)
	stderr := startFailing(t, "--resources-path", dir)
	if !strings.Contains(stderr, p+":10") {
		t.Errorf("stderr does not name %s:10:\n%s", p, stderr)
	}
}

// TestResourcesUnknownType: a component type skiffd lacks stops startup,
// naming file:line.
func TestResourcesUnknownType(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := writeFile(t, dir, "components.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ok
spec:
  type: state.in-memory
  version: v1
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: weird
spec:
  type: state.cassandra-of-doom
  version: v1
`)
	stderr := startFailing(t, "--resources-path", dir)
	if !strings.Contains(stderr, p+":") || !strings.Contains(stderr, "state.cassandra-of-doom") {
		t.Errorf("stderr does not name %s:line and the type:\n%s", p, stderr)
	}
	if !strings.Contains(stderr, p+":14") && !strings.Contains(stderr, p+":9") {
		t.Errorf("stderr names the wrong line (want 14, the type, or 9, the document):\n%s", stderr)
	}
}
