package blackbox

import (
	"strings"
	"testing"
	"time"
)

// TestAppHealthBadFlags: a probe timeout longer than the interval stops
// startup with daprd's message.
func TestAppHealthBadFlags(t *testing.T) {
	app := startHealthApp(t, "")
	s := startSidecar(t, Opts{AppPort: app.Port, NoWait: true, Args: []string{
		"--enable-app-health-check", "--app-health-probe-interval", "1", "--app-health-probe-timeout", "2000",
	}})
	code, ok := s.WaitExit(20 * time.Second)
	if !ok || code == 0 {
		t.Fatalf("skiffd did not fail (exited %v, code %d)", ok, code)
	}
	s.MarkStopped()
	if !strings.Contains(s.Stderr(), "probe timeouts must be smaller than probe intervals") {
		t.Fatalf("stderr:\n%s", s.Stderr())
	}
}
