package blackbox

import (
	"strings"
	"testing"
)

// TestSecretsRef: a component's secretKeyRef is resolved from the store its
// auth.secretStore names; a missing store, secret or key stops startup
// naming the file and the line.
func TestSecretsRef(t *testing.T) {
	t.Parallel()
	comp := func(auth, ref string) string {
		return `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: refstate
spec:
  type: state.in-memory
  version: v1
  metadata:
  - name: password
    secretKeyRef:
      ` + ref + `
` + auth
	}
	t.Run("ok", func(t *testing.T) {
		dir := t.TempDir()
		secretsFixture(t, dir, "vault", "")
		// The single-valued file store names the secret by its flattened
		// key: name db:user, key db:user.
		writeFile(t, dir, "state.yaml", comp("auth:\n  secretStore: vault\n", "name: \"db:user\""))
		s := startSidecar(t, Opts{Args: []string{"--resources-path", dir}})
		s.do("POST", "/v1.0/state/refstate", []byte(`[{"key":"k","value":1}]`))
		wantStatus(t, "state works", s.do("GET", "/v1.0/state/refstate/k", nil), 200)
	})
	for _, tc := range []struct{ name, auth, ref, want string }{
		{"no auth", "", "name: redisPassword", "no auth.secretStore"},
		{"unknown store", "auth:\n  secretStore: nowhere\n", "name: redisPassword", "auth.secretStore nowhere is not a loaded secret store"},
		{"missing secret", "auth:\n  secretStore: vault\n", "name: nothere", "secret nothere not found"},
		{"missing key", "auth:\n  secretStore: vault\n", "name: redisPassword\n      key: other", "has no (or an empty) key other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			secretsFixture(t, dir, "vault", "")
			writeFile(t, dir, "state.yaml", comp(tc.auth, tc.ref))
			stderr := startFailing(t, "--resources-path", dir)
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "state.yaml:") || !strings.Contains(stderr, "metadata password (line 9)") {
				t.Errorf("stderr does not name the file, line and cause %q:\n%s", tc.want, tail(stderr, 2000))
			}
		})
	}
}
