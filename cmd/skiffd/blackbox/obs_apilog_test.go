package blackbox

import (
	"strings"
	"testing"
	"time"
)

// --enable-api-logging: one "HTTP API Called" line per call with daprd's
// fields (method "VERB /path", code, size, duration, app_id), at info level
// even under --log-level warn, and never the token, the query or a body.
func TestAPILogging(t *testing.T) {
	s := startSidecar(t, Opts{AppID: "logapp", Env: []string{"DAPR_API_TOKEN=t0psecret"},
		Args: []string{"--enable-api-logging", "--log-as-json"}})
	s.do("POST", "/v1.0/state/statestore?x=qsecret", []byte(`[{"key":"k","value":"bodysecret"}]`), "dapr-api-token", "t0psecret")
	deadline := time.Now().Add(10 * time.Second)
	var line string
	for time.Now().Before(deadline) && line == "" {
		for _, l := range strings.Split(s.Stderr(), "\n") {
			if strings.Contains(l, "HTTP API Called") && strings.Contains(l, "POST") {
				line = l
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if line == "" {
		t.Fatalf("no API log line; stderr:\n%s", tail(s.Stderr(), 20))
	}
	for _, want := range []string{`"method":"POST /v1.0/state/statestore"`, `"code":204`, `"size":0`, `"duration":`, `"app_id":"logapp"`} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %s: %s", want, line)
		}
	}
	for _, secret := range []string{"t0psecret", "qsecret", "bodysecret"} {
		if strings.Contains(s.Stderr(), secret) {
			t.Errorf("stderr contains %q", secret)
		}
	}
}
