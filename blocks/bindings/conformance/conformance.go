package conformance

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/bindings"
)

// Component is what every backend binding implements besides Output or
// Input.
type Component interface {
	io.Closer
	Ready() error
}

// Invoke runs one operation on out with a generous timeout.
func Invoke(t testing.TB, out bindings.Output, op string, data []byte, md map[string]string) (*bindings.InvokeResponse, error) {
	t.Helper()
	if md == nil {
		md = map[string]string{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return out.Invoke(ctx, &bindings.InvokeRequest{Operation: op, Data: data, Metadata: md})
}

// MustInvoke is Invoke that fails the test on an error.
func MustInvoke(t testing.TB, out bindings.Output, op string, data []byte, md map[string]string) *bindings.InvokeResponse {
	t.Helper()
	r, err := Invoke(t, out, op, data, md)
	if err != nil {
		t.Fatalf("%s %v: %v", op, md, err)
	}
	return r
}

// WaitReady polls c.Ready until nil.
func WaitReady(t testing.TB, c Component) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.Ready()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Down checks a component whose backend is unreachable: Ready reports
// why, and op fails promptly with an error rather than hanging; Close
// works, twice.
func Down(t *testing.T, c Component, op string, md map[string]string) {
	t.Helper()
	if err := c.Ready(); err == nil {
		t.Fatal("Ready is nil with the backend down")
	} else {
		t.Logf("not ready, as expected: %v", err)
	}
	if out, ok := c.(bindings.Output); ok {
		start := time.Now()
		if _, err := Invoke(t, out, op, []byte(`"x"`), md); err == nil {
			t.Fatalf("%s succeeded with the backend down", op)
		} else if d := time.Since(start); d > 15*time.Second {
			t.Fatalf("%s took %v to fail with the backend down", op, d)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Operations checks that out lists exactly want (order aside).
func Operations(t *testing.T, out bindings.Output, want ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, o := range out.Operations() {
		got[o] = true
	}
	if len(got) != len(want) {
		t.Fatalf("operations %v, want %v", out.Operations(), want)
	}
	for _, w := range want {
		if !got[w] {
			t.Fatalf("operations %v, want %v", out.Operations(), want)
		}
	}
}

// DeadAddr returns a loopback address nothing listens on.
func DeadAddr() string { return "127.0.0.1:1" }
