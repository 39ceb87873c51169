package blackbox

import (
	"github.com/skiffd/skiff/blocks/state/conformance"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// configApp is an HTTP app inside the test that records what the sidecar
// POSTs to /configuration/….
type configApp struct {
	Port int
	mu   sync.Mutex
	got  []configPost
}

type configPost struct {
	Path, ContentType, Body string
}

func startConfigApp(t testing.TB) *configApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &configApp{Port: ln.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost {
			a.mu.Lock()
			a.got = append(a.got, configPost{r.URL.EscapedPath(), r.Header.Get("Content-Type"), string(b)})
			a.mu.Unlock()
		}
		w.WriteHeader(200)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return a
}

func (a *configApp) posts() []configPost {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]configPost(nil), a.got...)
}

// waitPosts polls until at least n posts arrived (generous deadline).
func (a *configApp) waitPosts(t testing.TB, n int) []configPost {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p := a.posts()
		if len(p) >= n {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("app got %d configuration posts, want %d: %+v", len(p), n, p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redisAddrForTest returns $SKIFF_REDIS_ADDR (default 127.0.0.1:6379), or
// skips (fails when CI=true) when nothing answers there.
func redisAddrForTest(t testing.TB) string {
	t.Helper()
	return conformance.Service(t, "Redis", "SKIFF_REDIS_ADDR", "127.0.0.1:6379", "")
}
