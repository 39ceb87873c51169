package blackbox

import (
	"bytes"
	"strings"
	"testing"
)

// With privileges and --ebpf-redirect=on, the API and app connections are
// shortcut: metadata says active and the counters grow with the traffic,
// while state and invocation answer as usual.
func TestRedirectOnActive(t *testing.T) {
	needRoot(t)
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--ebpf-redirect", "on"}})
	st, before, _ := redirectStatus(t, s)
	if st != "active" {
		t.Fatalf("ebpfRedirect = %q; want active\n%s", st, s.Stderr())
	}
	body := bytes.Repeat([]byte("x"), 100<<10)
	for i := range 20 {
		wantStatus(t, "save", s.do("POST", "/v1.0/state/statestore", []byte(`[{"key":"rk","value":"v`+strings.Repeat("y", i)+`"}]`)), 204)
		r := s.do("POST", "/v1.0/invoke/"+s.AppID+"/method/echo/x", body)
		wantStatus(t, "invoke", r, 200)
		if !bytes.Contains(r.Body, body[:1000]) {
			t.Fatalf("invoke echo lost the body (%d bytes back)", len(r.Body))
		}
	}
	st, after, n := redirectStatus(t, s)
	if st != "active" || after <= before || n < 20*100<<10 {
		t.Fatalf("after traffic: %q msgs %d→%d bytes %d", st, before, after, n)
	}
}
