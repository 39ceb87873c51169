package blackbox

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestBindingsLocalStorage: create (named, random, base64), get, list and
// delete under rootPath; a fileName leaving rootPath is refused and writes
// nothing outside; rootPath itself comes from a secretKeyRef.
func TestBindingsLocalStorage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outside := t.TempDir()
	root := filepath.Join(t.TempDir(), "files")
	secrets := writeFile(t, t.TempDir(), "s.json", `{"storage":{"root":"`+root+`"}}`)
	writeFile(t, dir, "ls.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: vault
spec:
  type: secretstores.local.file
  metadata:
  - name: secretsFile
    value: `+secrets+`
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: files
spec:
  type: bindings.localstorage
  version: v1
  metadata:
  - name: rootPath
    secretKeyRef:
      name: "storage:root"
auth:
  secretStore: vault
`)
	s := startSidecar(t, Opts{Args: []string{"--resources-path", dir}})
	call := func(body string) Resp { return s.do("POST", "/v1.0/bindings/files", []byte(body)) }

	r := call(`{"operation":"create","data":"Hello World","metadata":{"fileName":"dir/a.txt"}}`)
	wantStatus(t, "create", r, 200)
	if string(r.Body) != `{"fileName":"dir/a.txt"}` {
		t.Errorf("create answer %s", r.Body)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "dir", "a.txt")); string(b) != "Hello World" {
		t.Errorf("file holds %q", b)
	}
	r = call(`{"operation":"create","data":"aGk=","metadata":{"fileName":"b.bin"}}`)
	wantStatus(t, "create base64", r, 200)
	r = call(`{"operation":"get","metadata":{"fileName":"b.bin"}}`)
	if r.Status != 200 || string(r.Body) != "hi" {
		t.Errorf("get base64 file: %d %q", r.Status, r.Body)
	}
	r = call(`{"operation":"create","data":{"k":1}}`)
	var created struct{ FileName string }
	if err := json.Unmarshal(r.Body, &created); err != nil || len(created.FileName) != 36 {
		t.Errorf("random name: %s", r.Body)
	}
	r = call(`{"operation":"get","metadata":{"fileName":"` + created.FileName + `"}}`)
	if string(r.Body) != `{"k":1}` {
		t.Errorf("get json file: %q", r.Body)
	}
	r = call(`{"operation":"list","metadata":{"fileName":"dir"}}`)
	var list []string
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list) != 1 || list[0] != filepath.Join(root, "dir", "a.txt") {
		t.Errorf("list dir: %s", r.Body)
	}
	r = call(`{"operation":"list"}`)
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list) != 3 {
		t.Errorf("list root: %s", r.Body)
	}
	wantStatus(t, "delete", call(`{"operation":"delete","metadata":{"fileName":"dir/a.txt"}}`), 204)
	wantAPIError(t, "get deleted", call(`{"operation":"get","metadata":{"fileName":"dir/a.txt"}}`), 500, "ERR_INVOKE_OUTPUT_BINDING", "file not found")

	for _, name := range []string{"../escape.txt", "dir/../../escape.txt", "/../escape.txt", "../" + filepath.Base(outside) + "/x"} {
		for _, op := range []string{"create", "get", "delete", "list"} {
			r := call(`{"operation":"` + op + `","data":"x","metadata":{"fileName":"` + name + `"}}`)
			wantAPIError(t, op+" "+name, r, 500, "ERR_INVOKE_OUTPUT_BINDING", "leaves rootPath")
		}
	}
	// A symbolic link inside rootPath that points outside is refused too.
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, "through a link", call(`{"operation":"create","data":"x","metadata":{"fileName":"link/evil.txt"}}`), 500,
		"ERR_INVOKE_OUTPUT_BINDING", "leaves rootPath")
	entries, _ := os.ReadDir(outside)
	parent, _ := os.ReadDir(filepath.Dir(root))
	if len(entries) != 0 || len(parent) != 1 {
		t.Errorf("something was written outside rootPath: %v %v", entries, parent)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "escape.txt")); err == nil {
		t.Error("escape.txt written next to rootPath")
	}
	var md struct {
		Components []struct {
			Name         string   `json:"name"`
			Type         string   `json:"type"`
			Capabilities []string `json:"capabilities"`
		} `json:"components"`
	}
	if err := json.Unmarshal(s.do("GET", "/v1.0/metadata", nil).Body, &md); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, c := range md.Components {
		if c.Name == "files" && c.Type == "bindings.localstorage" && len(c.Capabilities) == 1 && c.Capabilities[0] == "OUTPUT_BINDING" ||
			c.Name == "vault" && c.Type == "secretstores.local.file" && len(c.Capabilities) == 0 {
			found++
		}
	}
	if found != 2 {
		t.Errorf("metadata components: %+v", md.Components)
	}
	wantAPIError(t, "unknown op", call(`{"operation":"rename"}`), 500, "ERR_INVOKE_OUTPUT_BINDING",
		"binding files does not support operation rename. supported operations:create get list delete")
}
