package blackbox

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// A large request body, sent chunked (so skiffd streams it), is replayed
// whole on each retry: skiffd keeps it in a buffer bounded by
// --max-body-size.
func TestResiliencyRetryReplaysStreamedBody(t *testing.T) {
	app := startFlakyApp(t, func(path string, n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.WriteHeader(502)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	dir := resiliencyDir(t, map[string]string{"resiliency.yaml": `
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: stream
spec:
  policies:
    retries:
      again:
        duration: 10ms
        maxRetries: 2
  targets:
    apps:
      resilstream:
        retry: again
`})
	s := startSidecar(t, Opts{AppID: "resilstream", AppPort: app.Port, Args: []string{"--resources-path", dir}})

	body := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB
	// An io.Reader that is not a *bytes.Reader makes net/http send chunked.
	req, err := http.NewRequest("POST", s.URL+"/v1.0/invoke/resilstream/method/upload", io.MultiReader(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != "ok" {
		t.Fatalf("status %d body %q", resp.StatusCode, got)
	}
	bodies := app.Bodies("/upload")
	if len(bodies) != 2 {
		t.Fatalf("%d attempts, want 2", len(bodies))
	}
	for i, b := range bodies {
		if b != string(body) {
			t.Fatalf("attempt %d: %d bytes received, want the %d sent", i+1, len(b), len(body))
		}
	}
}
