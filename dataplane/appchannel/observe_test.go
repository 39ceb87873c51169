package appchannel

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/dataplane/metrics"
)

type call struct {
	method, path   string
	status         int
	sent, received int64
	probe          bool
}

type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) AppCall(method, path []byte, status int, sent, received int64, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{string(method), string(path), status, sent, received, false})
}

func (r *recorder) HealthProbe(status int, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{status: status, probe: true})
}

func TestObserver(t *testing.T) {
	port := cannedApp(t)
	c := newClient(t, port, nil)
	pc := c.Settings()
	pc.HealthProbe = true
	probe, err := New(pc) // built before SetObserver, as skiffd does
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	ctx := context.Background()

	// No observer: nothing to report to.
	resp := new(Response)
	if err := c.Do(ctx, &Request{Method: []byte("GET"), Path: []byte("/a")}, resp); err != nil {
		t.Fatal(err)
	}
	resp.Close()

	r := &recorder{}
	c.SetObserver(r)
	if c.Observer() != r || probe.Observer() != r {
		t.Fatal("observer not shared with the probe client")
	}
	if err := c.Do(ctx, &Request{Method: []byte("POST"), Path: []byte("/neworder"), Query: []byte("x=1"), Body: []byte("12345")}, resp); err != nil {
		t.Fatal(err)
	}
	resp.Close()
	if err := probe.Do(ctx, &Request{Method: []byte("GET"), Path: []byte("/healthz")}, resp); err != nil {
		t.Fatal(err)
	}
	resp.Close()

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	dc := newClient(t, down, nil)
	dc.SetObserver(r)
	if err := dc.Do(ctx, &Request{Method: []byte("PUT"), Path: []byte("/gone"), Body: []byte("xy")}, resp); err == nil {
		t.Fatal("call to a closed port succeeded")
	}

	want := []call{
		{method: "POST", path: "/neworder", status: 200, sent: 5, received: 11},
		{status: 200, probe: true},
		{method: "PUT", path: "/gone", status: 500, sent: 2},
	}
	if len(r.calls) != len(want) {
		t.Fatalf("calls %+v", r.calls)
	}
	for i := range want {
		if r.calls[i] != want[i] {
			t.Errorf("call %d: %+v, want %+v", i, r.calls[i], want[i])
		}
	}
	c.SetObserver(nil)
	if probe.Observer() != nil {
		t.Error("observer not removed")
	}
}

// With the metrics observer installed, a warm call still allocates nothing.
func TestRoundTripAllocsObserved(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations under -race")
	}
	c := newClient(t, cannedApp(t), nil)
	c.SetObserver(metrics.New(metrics.Options{AppID: "a", Enabled: true, IncreasedCardinality: true}).AppChannel)
	req := &Request{Method: []byte("POST"), Path: []byte("/neworder"), Body: []byte(`{"orderId":1}`)}
	resp := new(Response)
	ctx := context.Background()
	run := func() {
		if err := c.Do(ctx, req, resp); err != nil {
			t.Fatal(err)
		}
		resp.Close()
	}
	run()
	if n := testing.AllocsPerRun(200, run); n != 0 {
		t.Errorf("%v allocations per observed call, want 0", n)
	}
}
