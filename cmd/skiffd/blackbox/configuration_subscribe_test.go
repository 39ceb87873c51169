package blackbox

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigurationSubscribe: a configuration.in-memory store fed by a
// watched items file; get, subscribe, an edit of the file reaching the app
// as daprd's {"id","items"} POST to /configuration/{store}/{key},
// unsubscribe (and again: daprd's error), bad input and unknown stores.
func TestConfigurationSubscribe(t *testing.T) {
	t.Parallel()
	app := startConfigApp(t)
	dir := t.TempDir()
	items := filepath.Join(t.TempDir(), "items.json")
	if err := os.WriteFile(items, []byte(`{"color":"blue||1","size":"10||1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "config.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: appconfig
spec:
  type: configuration.in-memory
  version: v1
  metadata:
  - name: item.fixed
    value: "yes||7"
  - name: itemsFile
    value: `+items+`
  - name: pollInterval
    value: 50ms
`)
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--resources-path", dir}})

	wantBody(t, "get", s.do("GET", "/v1.0/configuration/appconfig?key=color&key=fixed", nil), 200,
		`{"color":{"value":"blue","version":"1"},"fixed":{"value":"yes","version":"7"}}`+"\n")
	wantStatus(t, "get missing", s.do("GET", "/v1.0-alpha1/configuration/appconfig?key=nope", nil), 204)
	wantAPIError(t, "unknown store", s.do("GET", "/v1.0/configuration/nope?key=a", nil), 400, "ERR_CONFIGURATION_STORE_NOT_FOUND", "configuration store nope not found")
	wantAPIError(t, "subscribe unknown store", s.do("GET", "/v1.0/configuration/nope/subscribe", nil), 400, "ERR_CONFIGURATION_STORE_NOT_FOUND")
	wantAPIError(t, "unsubscribe unknown store", s.do("GET", "/v1.0/configuration/nope/x/unsubscribe", nil), 400, "ERR_CONFIGURATION_STORE_NOT_FOUND")

	r := s.do("GET", "/v1.0/configuration/appconfig/subscribe?key=color", nil)
	var sub struct{ ID string }
	if r.Status != 200 || json.Unmarshal(r.Body, &sub) != nil || sub.ID == "" {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	if err := os.WriteFile(items, []byte(`{"color":"red||2","size":"11||2"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := app.waitPosts(t, 1)
	want := configPost{"/configuration/appconfig/color", "application/json", `{"id":"` + sub.ID + `","items":{"color":{"value":"red","version":"2"}}}` + "\n"}
	if p[0] != want {
		t.Errorf("delivery %+v, want %+v", p[0], want)
	}
	wantBody(t, "get after the edit", s.do("GET", "/v1.0/configuration/appconfig?key=size", nil), 200, `{"size":{"value":"11","version":"2"}}`+"\n")

	wantBody(t, "unsubscribe", s.do("GET", "/v1.0/configuration/appconfig/"+sub.ID+"/unsubscribe", nil), 200, "{\"ok\":true}\n")
	r = s.do("GET", "/v1.0-alpha1/configuration/appconfig/"+sub.ID+"/unsubscribe", nil)
	if r.Status != 500 || !strings.Contains(string(r.Body), `"message":"failed to unsubscribe to configuration request `+sub.ID) {
		t.Errorf("unsubscribe twice: %d %s", r.Status, r.Body)
	}
	if err := os.WriteFile(items, []byte(`{"color":"green||3"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// The edit is applied (visible through get) and not delivered.
	deadline := time.Now().Add(20 * time.Second)
	for string(s.do("GET", "/v1.0/configuration/appconfig?key=color", nil).Body) != `{"color":{"value":"green","version":"3"}}`+"\n" {
		if time.Now().After(deadline) {
			t.Fatal("the third edit never applied")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(app.posts()); n != 1 {
		t.Errorf("%d posts after unsubscribe, want 1: %+v", n, app.posts())
	}
}

// TestConfigurationDefaults: the embedded configstore answers with no
// resources path; without --app-port, subscribe is daprd's
// ERR_APP_CHANNEL_NIL; a resources path without configuration stores
// answers ERR_CONFIGURATION_STORE_NOT_CONFIGURED.
func TestConfigurationDefaults(t *testing.T) {
	t.Parallel()
	s := startSidecar(t, Opts{})
	wantStatus(t, "empty embedded store", s.do("GET", "/v1.0/configuration/configstore?key=a", nil), 204)
	wantAPIError(t, "subscribe without app", s.do("GET", "/v1.0/configuration/configstore/subscribe", nil), 500, "ERR_APP_CHANNEL_NIL")
	wantStatus(t, "POST is not a configuration route", s.do("POST", "/v1.0/configuration/configstore", nil), 404)

	dir := t.TempDir()
	writeFile(t, dir, "state.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: st\nspec:\n  type: state.in-memory\n  version: v1\n")
	s2 := startSidecar(t, Opts{Args: []string{"--resources-path", dir}})
	wantAPIError(t, "no configuration stores", s2.do("GET", "/v1.0/configuration/any?key=a", nil), 500, "ERR_CONFIGURATION_STORE_NOT_CONFIGURED", "configuration stores not configured")

	// A broken itemsFile stops startup, naming the component.
	dir3 := t.TempDir()
	writeFile(t, dir3, "c.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: broken\nspec:\n  type: configuration.in-memory\n  version: v1\n  metadata:\n  - name: itemsFile\n    value: /nonexistent/items.json\n")
	s3 := startSidecar(t, Opts{NoWait: true, Args: []string{"--resources-path", dir3}})
	if code, ok := s3.WaitExit(20 * time.Second); !ok || code == 0 {
		t.Errorf("broken itemsFile: exit %d (exited %v)", code, ok)
	}
	s3.MarkStopped()
	if !strings.Contains(s3.Stderr(), "broken") {
		t.Errorf("stderr does not name the component: %s", tail(s3.Stderr(), 400))
	}
}
