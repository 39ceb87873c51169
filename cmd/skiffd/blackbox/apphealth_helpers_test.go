package blackbox

import (
	"encoding/json"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// healthApp is a subApp whose GET /healthz answers 200 or 503 as the test
// sets it, and whose /echo answers 200 (for invocation).
type healthApp struct {
	*subApp
	healthy atomic.Bool
	probes  atomic.Int32
}

func startHealthApp(t testing.TB, subscribe string) *healthApp {
	t.Helper()
	a := &healthApp{subApp: &subApp{t: t, subs: subscribe, counts: map[string]int{}}}
	a.healthy.Store(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.ln = ln
	a.Port = ln.Addr().(*net.TCPAddr).Port
	a.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			a.probes.Add(1)
			if a.healthy.Load() {
				w.WriteHeader(200)
			} else {
				w.WriteHeader(503)
			}
		case "/echo":
			w.WriteHeader(200)
		default:
			a.serve(w, r)
		}
	})}
	go func() { _ = a.srv.Serve(ln) }()
	t.Cleanup(a.Stop)
	return a
}

// appHealthMD reads appConnectionProperties.health from the metadata API.
func (s *Sidecar) appHealthMD(t testing.TB) map[string]any {
	t.Helper()
	r := s.do("GET", "/v1.0/metadata", nil)
	var md struct {
		App struct {
			Health map[string]any `json:"health"`
		} `json:"appConnectionProperties"`
	}
	if err := json.Unmarshal(r.Body, &md); err != nil {
		t.Fatalf("metadata: %v: %s", err, r.Body)
	}
	return md.App.Health
}

// waitAppHealth polls the metadata API until healthStatus is want.
func (s *Sidecar) waitAppHealth(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h := s.appHealthMD(t)
		if h["healthStatus"] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("app health %v after 20 s, want %s", h, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
