package blackbox

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// subApp is an app inside the test: it answers GET /dapr/subscribe with a
// fixed body and records every POST the sidecar delivers.
type subApp struct {
	t    testing.TB
	Port int
	srv  *http.Server
	ln   net.Listener

	mu   sync.Mutex
	got  []delivery
	subs string
	// respond, when set, decides the answer to a delivery (n is how many
	// deliveries reached that path before this one). Default: 200, empty.
	respond func(path string, ev map[string]any, n int) (int, string)
	counts  map[string]int
}

// delivery is one request the sidecar made to the app.
type delivery struct {
	Path        string
	ContentType string
	TraceParent string
	Body        []byte
	Event       map[string]any
}

// startSubApp starts the app on port (0: a free one).
func startSubApp(t testing.TB, port int, subscribe string, respond func(path string, ev map[string]any, n int) (int, string)) *subApp {
	t.Helper()
	a := &subApp{t: t, subs: subscribe, respond: respond, counts: map[string]int{}}
	addr := "127.0.0.1:0"
	if port != 0 {
		addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	a.ln = ln
	a.Port = ln.Addr().(*net.TCPAddr).Port
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	t.Cleanup(a.Stop)
	return a
}

// Stop closes the app and its connections.
func (a *subApp) Stop() { _ = a.srv.Close() }

func (a *subApp) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/dapr/subscribe" {
		if a.subs == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, a.subs)
		return
	}
	body, _ := io.ReadAll(r.Body)
	d := delivery{Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), TraceParent: r.Header.Get("traceparent"), Body: body}
	_ = json.Unmarshal(body, &d.Event)
	a.mu.Lock()
	n := a.counts[d.Path]
	a.counts[d.Path]++
	a.got = append(a.got, d)
	respond := a.respond
	a.mu.Unlock()
	status, resp := 200, ""
	if respond != nil {
		status, resp = respond(d.Path, d.Event, n)
	}
	if resp != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, resp)
}

// deliveries returns what reached path so far ("" for every path).
func (a *subApp) deliveries(path string) []delivery {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []delivery
	for _, d := range a.got {
		if path == "" || d.Path == path {
			out = append(out, d)
		}
	}
	return out
}

// waitFor polls until path has at least n deliveries, or fails after a
// generous deadline.
func (a *subApp) waitFor(path string, n int) []delivery {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := a.deliveries(path)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("%s: %d deliveries after 20 s, want %d", path, len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settle waits a little for deliveries that should not come, then returns
// what reached path.
func (a *subApp) settle(path string, d time.Duration) []delivery {
	time.Sleep(d)
	return a.deliveries(path)
}

// publish posts body to the sidecar's publish route and wants 204.
func (s *Sidecar) publish(t testing.TB, pubsub, topic, body string, hdr ...string) {
	t.Helper()
	r := s.do("POST", "/v1.0/publish/"+pubsub+"/"+topic, []byte(body), hdr...)
	if r.Status != 204 {
		t.Fatalf("publish to %s/%s: status %d, body %s", pubsub, topic, r.Status, r.Body)
	}
}

// waitSubscribed polls the metadata API until n subscriptions are listed.
func (s *Sidecar) waitSubscribed(t testing.TB, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.do("GET", "/v1.0/metadata", nil)
		var md struct {
			Subscriptions []map[string]any `json:"subscriptions"`
		}
		_ = json.Unmarshal(r.Body, &md)
		if len(md.Subscriptions) >= n {
			return md.Subscriptions
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions listed after 20 s, want %d: %s", len(md.Subscriptions), n, r.Body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
