//go:build !race

package metrics

import (
	"testing"
	"time"
)

// Recording a request whose label set was seen before must not allocate,
// in every label mode.
func TestObserveNoAlloc(t *testing.T) {
	for name, o := range map[string]Options{
		"low":      {AppID: "app", Enabled: true},
		"high":     {AppID: "app", Enabled: true, IncreasedCardinality: true},
		"matching": {AppID: "app", Enabled: true, PathMatching: []string{"/v1.0/state/{s}/{k}"}},
	} {
		m := New(o)
		reqs := []*Request{
			{Route: "state.get", Method: []byte("GET"), Path: []byte("/v1.0/state/statestore/key-1"), Status: 200, Elapsed: time.Millisecond},
			{Route: "invoke", Method: []byte("POST"), Path: []byte("/v1.0/invoke/other/method/m"), Status: 500, ReqBytes: 100},
			{Route: "", Method: []byte("GET"), Path: []byte("/x"), Status: 404},
		}
		for _, r := range reqs {
			m.HTTP.Observe(r) // first sight resolves the handles
		}
		if a := testing.AllocsPerRun(1000, func() {
			for _, r := range reqs {
				m.HTTP.Observe(r)
			}
		}); a != 0 {
			t.Errorf("%s: %v allocations per run", name, a)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	m := New(Options{AppID: "app", Enabled: true})
	r := &Request{Route: "state.get", Method: []byte("GET"), Path: []byte("/v1.0/state/statestore/key-1"), Status: 200, Elapsed: 80 * time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		m.HTTP.Observe(r)
	}
}

// App channel calls, probes and error codes seen before do not allocate.
func TestAppChannelNoAlloc(t *testing.T) {
	for name, o := range map[string]Options{
		"low":  {AppID: "app", Enabled: true, RecordErrorCodes: true},
		"high": {AppID: "app", Enabled: true, IncreasedCardinality: true, RecordErrorCodes: true},
	} {
		m := New(o)
		method, path := []byte("POST"), []byte("/neworder")
		run := func() {
			m.AppChannel.AppCall(method, path, 200, 13, 11, time.Millisecond)
			m.AppChannel.HealthProbe(200, time.Millisecond)
			m.ErrorCodes.Record("state", "ERR_STATE_GET")
		}
		run()
		if a := testing.AllocsPerRun(1000, run); a != 0 {
			t.Errorf("%s: %v allocations per run", name, a)
		}
	}
}
