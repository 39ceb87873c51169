package blackbox

import "testing"

// TestSecretsGet: secretstores.local.file and secretstores.local.env through
// GET /v1.0/secrets/{store}/{key} and /bulk, and the error answers.
func TestSecretsGet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := secretsFixture(t, dir, "files", "")
	writeFile(t, dir, "multi.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: multi
spec:
  type: secretstores.local.file
  metadata:
  - name: secretsFile
    value: `+file+`
  - name: multiValued
    value: "true"
  - name: nestedSeparator
    value: "."
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: envstore
spec:
  type: secretstores.local.env
  metadata:
  - name: prefix
    value: SKIFFTEST_
`)
	s := startSidecar(t, Opts{Args: []string{"--resources-path", dir},
		Env: []string{"SKIFFTEST_ONE=1", "SKIFFTEST_TWO=<2>"}})

	wantSecretsJSON(t, "get", s.do("GET", "/v1.0/secrets/files/redisPassword", nil), map[string]string{"redisPassword": "s3cret"})
	wantSecretsJSON(t, "get nested", s.do("GET", "/v1.0/secrets/files/db:hosts:1?metadata.x=y", nil), map[string]string{"db:hosts:1": "h2"})
	wantSecretsJSON(t, "get escaped", s.do("GET", "/v1.0/secrets/files/db%3Auser", nil), map[string]string{"db:user": "admin"})
	wantSecretsJSON(t, "bulk", s.do("GET", "/v1.0/secrets/files/bulk", nil), map[string]map[string]string{
		"db:hosts:0": {"db:hosts:0": "h1"}, "db:hosts:1": {"db:hosts:1": "h2"}, "db:user": {"db:user": "admin"},
		"other": {"other": "x"}, "redisPassword": {"redisPassword": "s3cret"},
	})
	wantSecretsJSON(t, "multi get", s.do("GET", "/v1.0/secrets/multi/db", nil), map[string]string{"user": "admin", "hosts.0": "h1", "hosts.1": "h2"})
	wantSecretsJSON(t, "env get", s.do("GET", "/v1.0/secrets/envstore/TWO", nil), map[string]string{"TWO": "<2>"})
	wantSecretsJSON(t, "env unset", s.do("GET", "/v1.0/secrets/envstore/NOPE", nil), map[string]string{"NOPE": ""})
	wantSecretsJSON(t, "env bulk", s.do("GET", "/v1.0/secrets/envstore/bulk", nil), map[string]map[string]string{"ONE": {"ONE": "1"}, "TWO": {"TWO": "<2>"}})

	wantAPIError(t, "unknown store", s.do("GET", "/v1.0/secrets/nope/k", nil), 401, "ERR_SECRET_STORE_NOT_FOUND", "failed finding secret store with key nope")
	wantAPIError(t, "unknown store bulk", s.do("GET", "/v1.0/secrets/nope/bulk", nil), 401, "ERR_SECRET_STORE_NOT_FOUND")
	wantAPIError(t, "missing secret", s.do("GET", "/v1.0/secrets/files/db", nil), 500, "ERR_SECRET_GET",
		"failed getting secret with key db from secret store files: secret db not found")
}

// TestSecretsNotConfigured: with no secret store at all, daprd answers 500
// ERR_SECRET_STORES_NOT_CONFIGURED (the embedded defaults have none).
func TestSecretsNotConfigured(t *testing.T) {
	t.Parallel()
	s := startSidecar(t, Opts{})
	wantAPIError(t, "get", s.do("GET", "/v1.0/secrets/any/k", nil), 500, "ERR_SECRET_STORES_NOT_CONFIGURED", "secret store is not configured")
	wantAPIError(t, "bulk", s.do("GET", "/v1.0/secrets/any/bulk", nil), 500, "ERR_SECRET_STORES_NOT_CONFIGURED")
}
