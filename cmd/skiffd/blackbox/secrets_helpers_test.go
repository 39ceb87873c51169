package blackbox

import (
	"encoding/json"
	"testing"
)

// secretsFixture writes a secrets JSON file and a secretstores.local.file
// component named name into dir, and returns the file's path.
func secretsFixture(t *testing.T, dir, name, extraMeta string) string {
	t.Helper()
	file := writeFile(t, t.TempDir(), name+".json", `{"redisPassword":"s3cret","db":{"user":"admin","hosts":["h1","h2"]},"other":"x"}`)
	writeFile(t, dir, name+".yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: `+name+`
spec:
  type: secretstores.local.file
  version: v1
  metadata:
  - name: secretsFile
    value: `+file+extraMeta+`
`)
	return file
}

// wantSecretsJSON fails unless r is 200 with a JSON body equal to want.
func wantSecretsJSON(t *testing.T, what string, r Resp, want any) {
	t.Helper()
	wantStatus(t, what, r, 200)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	wb, _ := json.Marshal(want)
	if string(r.Body) != string(wb) {
		t.Errorf("%s: body %s, want %s", what, r.Body, wb)
	}
}
