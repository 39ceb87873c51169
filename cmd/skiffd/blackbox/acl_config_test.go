package blackbox

import (
	"strings"
	"testing"
	"time"
)

// TestACLConfig: a valid spec.accessControl loads (skiffd serves); one
// that daprd refuses (a policy without trustDomain or namespace) stops
// startup with daprd's message.
func TestACLConfig(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: acl
spec:
  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
    - appId: app1
      defaultAction: allow
      trustDomain: public
      namespace: default
      operations:
      - name: /op1/*
        httpVerb: ["POST", "GET"]
        action: deny
`)
	s := startSidecar(t, Opts{Args: []string{"--config", good}})
	wantStatus(t, "healthz", s.do("GET", "/v1.0/healthz", nil), 204)

	bad := writeFile(t, dir, "bad.yaml", `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: acl
spec:
  accessControl:
    defaultAction: deny
    policies:
    - appId: app1
      namespace: default
`)
	s2 := startSidecar(t, Opts{NoWait: true, Args: []string{"--config", bad}})
	code, ok := s2.WaitExit(20 * time.Second)
	if !ok || code == 0 {
		t.Fatalf("skiffd did not fail (exited %v, code %d)", ok, code)
	}
	s2.MarkStopped()
	if !strings.Contains(s2.Stderr(), "invalid access control spec. missing trustdomain for apps: [app1]") {
		t.Fatalf("stderr:\n%s", s2.Stderr())
	}
}
