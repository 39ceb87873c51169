package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/dataplane/tracing"
)

// TestTraceInputsOff: with tracing off the inputs are not wrapped, and
// passing them through allocates nothing.
func TestTraceInputsOff(t *testing.T) {
	fi := &fakeInput{}
	entries := []bindings.InputEntry{{Name: "b", Input: fi}}
	if out := traceInputs(nil, entries); &out[0] != &entries[0] || out[0].Input != fi {
		t.Fatal("inputs wrapped with tracing off")
	}
	if n := testing.AllocsPerRun(100, func() { _ = traceInputs(nil, entries) }); n != 0 {
		t.Errorf("%v allocations with tracing off", n)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTraceInputs: an event gets a "bindings/<name>" span under its
// traceparent metadata; the app gets the span's traceparent instead, and
// one span covers the resiliency retries.
func TestTraceInputs(t *testing.T) {
	out := &syncBuf{}
	tr, err := tracing.New(tracing.Settings{SamplingRate: "1", Stdout: true, StdoutWriter: out}, "app")
	if err != nil {
		t.Fatal(err)
	}
	fi := &fakeInput{}
	ins := wrapInputs(testResiliency(t), traceInputs(tr, []bindings.InputEntry{{Name: "c", Input: fi}}))
	var got []string
	calls := 0
	_ = ins[0].Input.Read(context.Background(), func(_ context.Context, ev *bindings.ReadResponse) ([]byte, error) {
		calls++
		got = append(got, ev.Metadata["traceparent"])
		if ev.Metadata["Traceparent"] != "" || ev.Metadata["x"] != "y" {
			t.Errorf("metadata %v", ev.Metadata)
		}
		if calls < 2 {
			return nil, &bindings.AppStatusError{Status: 503}
		}
		return []byte("ack"), nil
	})
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	b, err := fi.h(context.Background(), &bindings.ReadResponse{Metadata: map[string]string{"Traceparent": parent, "x": "y"}})
	if err != nil || string(b) != "ack" || calls != 2 {
		t.Fatalf("delivery: %v %q after %d", err, b, calls)
	}
	if len(got) != 2 || got[0] != got[1] || !strings.HasPrefix(got[0], "00-4bf92f3577b34da6a3ce929d0e0e4736-") || got[0] == parent {
		t.Fatalf("the app got traceparents %q", got)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.Count(s, `"Name":"bindings/c"`) != 1 || !strings.Contains(s, `"SpanID":"00f067aa0ba902b7"`) {
		t.Fatalf("exported spans:\n%s", s)
	}
}
