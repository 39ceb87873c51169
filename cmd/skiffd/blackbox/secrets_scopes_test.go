package blackbox

import "testing"

// TestSecretsScopes: --config secret scopes answer 403 ERR_PERMISSION_DENIED
// for a denied key and filter bulk, as daprd does.
func TestSecretsScopes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secretsFixture(t, dir, "allowlist", "")
	secretsFixture(t, dir, "denylist", "")
	secretsFixture(t, dir, "open", "")
	cfg := writeFile(t, t.TempDir(), "config.yaml", `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: cfg
spec:
  secrets:
    scopes:
    - storeName: allowlist
      defaultAccess: deny
      allowedSecrets: ["redisPassword"]
    - storeName: denylist
      deniedSecrets: ["redisPassword", "db:user"]
`)
	s := startSidecar(t, Opts{Args: []string{"--resources-path", dir, "--config", cfg}})

	wantSecretsJSON(t, "allowed", s.do("GET", "/v1.0/secrets/allowlist/redisPassword", nil), map[string]string{"redisPassword": "s3cret"})
	wantAPIError(t, "not in allow list", s.do("GET", "/v1.0/secrets/allowlist/other", nil), 403, "ERR_PERMISSION_DENIED",
		`access denied by policy to get "other" from "allowlist"`)
	wantAPIError(t, "missing and not allowed", s.do("GET", "/v1.0/secrets/allowlist/zzz", nil), 403, "ERR_PERMISSION_DENIED")
	wantSecretsJSON(t, "allow bulk", s.do("GET", "/v1.0/secrets/allowlist/bulk", nil), map[string]map[string]string{"redisPassword": {"redisPassword": "s3cret"}})

	wantAPIError(t, "denied", s.do("GET", "/v1.0/secrets/denylist/db:user", nil), 403, "ERR_PERMISSION_DENIED")
	wantSecretsJSON(t, "not denied", s.do("GET", "/v1.0/secrets/denylist/other", nil), map[string]string{"other": "x"})
	wantSecretsJSON(t, "deny bulk", s.do("GET", "/v1.0/secrets/denylist/bulk", nil), map[string]map[string]string{
		"db:hosts:0": {"db:hosts:0": "h1"}, "db:hosts:1": {"db:hosts:1": "h2"}, "other": {"other": "x"},
	})
	wantSecretsJSON(t, "no scope", s.do("GET", "/v1.0/secrets/open/db:user", nil), map[string]string{"db:user": "admin"})
}
