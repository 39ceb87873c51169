package blackbox

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// flakyApp is an HTTP app that counts the attempts on each path and
// answers each with what its behaviour function says.
type flakyApp struct {
	Port int
	mu   sync.Mutex
	hits map[string]int
	// bodies holds each request body received, by path.
	bodies map[string][]string
	// times holds when each attempt arrived, by path.
	times map[string][]time.Time
	// conns holds the app-side connections seen (remote addresses).
	conns map[string]bool
}

// flakyBehaviour answers the n-th attempt (from 1) on a path.
type flakyBehaviour func(path string, n int, w http.ResponseWriter, r *http.Request)

func startFlakyApp(t testing.TB, behave flakyBehaviour) *flakyApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &flakyApp{Port: ln.Addr().(*net.TCPAddr).Port, hits: map[string]int{}, bodies: map[string][]string{}, times: map[string][]time.Time{}, conns: map[string]bool{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.hits[r.URL.Path]++
		n := a.hits[r.URL.Path]
		a.bodies[r.URL.Path] = append(a.bodies[r.URL.Path], string(body))
		a.times[r.URL.Path] = append(a.times[r.URL.Path], time.Now())
		a.conns[r.RemoteAddr] = true
		a.mu.Unlock()
		behave(r.URL.Path, n, w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return a
}

// Hits returns how many attempts reached path.
func (a *flakyApp) Hits(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hits[path]
}

// Conns returns how many connections skiffd opened to the app.
func (a *flakyApp) Conns() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.conns)
}

// Bodies returns the bodies received on path.
func (a *flakyApp) Bodies(path string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.bodies[path]...)
}

// Times returns when the attempts on path arrived.
func (a *flakyApp) Times(path string) []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.times[path]...)
}

// resiliencyDir writes the YAML documents into a fresh resources directory.
func resiliencyDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// waitFor polls cond every 50 ms until it holds or d passes.
func resilWaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// resilSeries finds the metric of f whose labels include want.
func resilSeries(f *dto.MetricFamily, want map[string]string) *dto.Metric {
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		n := 0
		for _, l := range m.GetLabel() {
			if v, has := want[l.GetName()]; has && v == l.GetValue() {
				n++
			}
		}
		if n == len(want) {
			return m
		}
	}
	return nil
}
