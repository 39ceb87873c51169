package blackbox

import (
	"net/http"
	"testing"
)

// Calls under a timeout and retry policy keep reusing skiffd's connections
// to the app: the attempt's context ends only once the answer is relayed.
func TestResiliencyPolicyKeepsAppConnections(t *testing.T) {
	app := startFlakyApp(t, func(path string, n int, w http.ResponseWriter, r *http.Request) {
		if path == "/bad" {
			w.WriteHeader(500)
			_, _ = w.Write([]byte("bad"))
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	dir := resiliencyDir(t, map[string]string{"resiliency.yaml": `
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: keepalive
spec:
  policies:
    timeouts:
      t: 10s
    retries:
      r:
        duration: 1ms
        maxRetries: 1
  targets:
    apps:
      resilkeep:
        timeout: t
        retry: r
`})
	s := startSidecar(t, Opts{AppID: "resilkeep", AppPort: app.Port, Args: []string{"--resources-path", dir}})
	for range 40 {
		r := s.do("POST", "/v1.0/invoke/resilkeep/method/good", []byte("x"))
		wantStatus(t, "good", r, 200)
		r = s.do("GET", "/v1.0/invoke/resilkeep/method/bad", nil)
		wantStatus(t, "bad", r, 500)
		if string(r.Body) != "bad" {
			t.Fatalf("bad: body %q", r.Body)
		}
	}
	if n := app.Hits("/bad"); n != 80 {
		t.Fatalf("bad: %d attempts, want 80", n)
	}
	if n := app.Conns(); n > 4 {
		t.Fatalf("skiffd opened %d connections to the app for 120 sequential calls", n)
	}
}
