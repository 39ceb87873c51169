package apphealth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffd/skiff/dataplane/appchannel"
)

func TestValidate(t *testing.T) {
	ok := Config{Path: "/healthz", Interval: 5 * time.Second, Timeout: 500 * time.Millisecond, Threshold: 3}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{
		{Path: "/h", Interval: 0, Timeout: time.Millisecond, Threshold: 1},
		{Path: "/h", Interval: time.Second, Timeout: 2 * time.Second, Threshold: 1},
		{Path: "/h", Interval: time.Second, Timeout: time.Millisecond, Threshold: 0},
		{Path: "h", Interval: time.Second, Timeout: time.Millisecond, Threshold: 1},
	} {
		if c.Validate() == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
}

// TestThreshold checks daprd's rules: unhealthy at start, one success is
// healthy, threshold consecutive failures are unhealthy.
func TestThreshold(t *testing.T) {
	var changes []bool
	m := New(Config{Threshold: 3}, nil, nil)
	m.OnChange = func(h bool) { changes = append(changes, h) }
	if m.Healthy() {
		t.Fatal("healthy before any probe")
	}
	m.Report(false)
	if m.Healthy() || len(changes) != 0 {
		t.Fatal("a failure at start changed the status")
	}
	m.Report(true)
	if !m.Healthy() {
		t.Fatal("one success is not healthy")
	}
	m.Report(false)
	m.Report(false)
	if !m.Healthy() {
		t.Fatal("unhealthy before the threshold")
	}
	m.Report(true) // resets the count
	m.Report(false)
	m.Report(false)
	if !m.Healthy() {
		t.Fatal("a success did not reset the failure count")
	}
	m.Report(false)
	if m.Healthy() {
		t.Fatal("still healthy after 3 consecutive failures")
	}
	m.Report(false)
	m.Report(true)
	want := []bool{true, false, true}
	if len(changes) != len(want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("changes %v, want %v", changes, want)
		}
	}
	var nilM *Monitor
	if !nilM.Healthy() {
		t.Fatal("nil monitor is not healthy")
	}
}

type countDoer struct{ n atomic.Int32 }

func (c *countDoer) Do(context.Context, *appchannel.Request, *appchannel.Response) error {
	c.n.Add(1)
	return nil
}

// TestGate checks that a call waits while the app is unhealthy, goes out
// when it recovers, and gives up when its context ends.
func TestGate(t *testing.T) {
	m := New(Config{Threshold: 1}, nil, nil)
	app := &countDoer{}
	g := &Gate{App: app, Monitor: m}
	done := make(chan error, 1)
	go func() { done <- g.Do(context.Background(), nil, nil) }()
	select {
	case <-done:
		t.Fatal("the call went out while the app is unhealthy")
	case <-time.After(50 * time.Millisecond):
	}
	m.Report(true)
	select {
	case err := <-done:
		if err != nil || app.n.Load() != 1 {
			t.Fatalf("err %v, calls %d", err, app.n.Load())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not go out after recovery")
	}
	m.Report(false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Do(ctx, nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if app.n.Load() != 1 {
		t.Fatal("a call went out while unhealthy")
	}
}

// TestProbe runs the real probe against an HTTP server through the app
// channel: 2xx is a success, 500 and a slow answer are failures.
func TestProbe(t *testing.T) {
	var mode atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || r.Method != "GET" {
			w.WriteHeader(404)
			return
		}
		switch mode.Load() {
		case 1:
			w.WriteHeader(500)
		case 2:
			time.Sleep(300 * time.Millisecond)
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	ch, err := appchannel.New(appchannel.Config{Address: "127.0.0.1", Port: port, Protocol: "http", MaxConcurrency: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	m := New(Config{Path: "/healthz", Interval: time.Second, Timeout: 100 * time.Millisecond, Threshold: 1}, ch, nil)
	ctx := context.Background()
	if err := m.Probe(ctx); err != nil {
		t.Fatalf("healthy app: %v", err)
	}
	mode.Store(1)
	if err := m.Probe(ctx); err == nil {
		t.Fatal("500 is a success")
	}
	mode.Store(2)
	if err := m.Probe(ctx); err == nil {
		t.Fatal("a probe past its timeout is a success")
	}
}
