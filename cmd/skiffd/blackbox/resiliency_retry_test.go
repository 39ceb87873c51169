package blackbox

import (
	"net/http"
	"strings"
	"testing"
)

// Retries against a flaky app: the app counts the attempts.
func TestResiliencyRetriesCount(t *testing.T) {
	app := startFlakyApp(t, func(path string, n int, w http.ResponseWriter, r *http.Request) {
		switch path {
		case "/twice": // fails twice, then answers
			if n <= 2 {
				w.WriteHeader(503)
				return
			}
			_, _ = w.Write([]byte("ok after " + string(rune('0'+n))))
		case "/always":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(500)
			_, _ = w.Write([]byte("app says no"))
		case "/notfound":
			w.WriteHeader(404)
		default:
			w.WriteHeader(200)
		}
	})
	dir := resiliencyDir(t, map[string]string{"resiliency.yaml": `
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: retries
spec:
  policies:
    retries:
      quick:
        policy: constant
        duration: 50ms
        maxRetries: 3
        matching:
          httpStatusCodes: 500-599
  targets:
    apps:
      resilretry:
        retry: quick
`})
	s := startSidecar(t, Opts{AppID: "resilretry", AppPort: app.Port, Args: []string{"--resources-path", dir}})

	r := s.do("POST", "/v1.0/invoke/resilretry/method/twice", []byte(`{"n":1}`), "Content-Type", "application/json")
	wantStatus(t, "twice", r, 200)
	if string(r.Body) != "ok after 3" || app.Hits("/twice") != 3 {
		t.Fatalf("twice: body %q after %d attempts, want 3", r.Body, app.Hits("/twice"))
	}
	for i, b := range app.Bodies("/twice") {
		if b != `{"n":1}` {
			t.Fatalf("attempt %d got body %q: not replayed", i+1, b)
		}
	}

	// Retries spent: the app's last answer is relayed as it is.
	r = s.do("GET", "/v1.0/invoke/resilretry/method/always", nil)
	wantStatus(t, "always", r, 500)
	if string(r.Body) != "app says no" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("always: body %q type %q", r.Body, r.Header.Get("Content-Type"))
	}
	if n := app.Hits("/always"); n != 4 {
		t.Fatalf("always: %d attempts, want 1 + maxRetries 3", n)
	}

	// 404 is outside the matching codes: one attempt.
	wantStatus(t, "notfound", s.do("GET", "/v1.0/invoke/resilretry/method/notfound", nil), 404)
	if n := app.Hits("/notfound"); n != 1 {
		t.Fatalf("notfound: %d attempts, want 1", n)
	}

	// The header form goes through the same policy.
	r = s.do("GET", "/always", nil, "dapr-app-id", "resilretry")
	wantStatus(t, "header form", r, 500)
	if n := app.Hits("/always"); n != 8 {
		t.Fatalf("header form: %d attempts in all, want 8", n)
	}
}
