package blackbox

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// bindingEvent is one request an in-test app received.
type bindingEvent struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// bindingsApp is a real HTTP app on 127.0.0.1 that records what it receives
// and answers with handler (nil: 200 for everything).
type bindingsApp struct {
	Port int
	mu   sync.Mutex
	evs  []bindingEvent
	srv  *http.Server
}

func startBindingsApp(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *bindingsApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &bindingsApp{Port: ln.Addr().(*net.TCPAddr).Port}
	a.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.evs = append(a.evs, bindingEvent{r.Method, r.URL.Path, r.Header.Clone(), b})
		a.mu.Unlock()
		if handler != nil {
			handler(w, r)
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	t.Cleanup(func() { _ = a.srv.Close() })
	return a
}

func (a *bindingsApp) addr() string { return "127.0.0.1:" + strconv.Itoa(a.Port) }

// events returns the requests received so far with method and path.
func (a *bindingsApp) events(method, path string) []bindingEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []bindingEvent
	for _, e := range a.evs {
		if e.Method == method && e.Path == path {
			out = append(out, e)
		}
	}
	return out
}

// waitEvents polls until n requests with method and path arrived, with a
// generous deadline (the machine is shared).
func (a *bindingsApp) waitEvents(t *testing.T, method, path string, n int, d time.Duration) []bindingEvent {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		evs := a.events(method, path)
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s %s after %v, want %d", len(evs), method, path, d, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// bindingYAML is a binding component document.
func bindingYAML(name, typ string, meta ...string) string {
	s := "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name + "\nspec:\n  type: " + typ + "\n  version: v1\n  metadata:\n"
	for i := 0; i+1 < len(meta); i += 2 {
		s += "  - name: " + meta[i] + "\n    value: " + strconv.Quote(meta[i+1]) + "\n"
	}
	return s
}
