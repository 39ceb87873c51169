package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/bindings"
)

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"20": 20 * time.Second, "1m": time.Minute, "500ms": 500 * time.Millisecond} {
		if d, err := duration(in); err != nil || d != want {
			t.Errorf("duration(%q) = %v, %v", in, d, err)
		}
	}
	if _, err := duration("soon"); err == nil {
		t.Error("duration(soon) accepted")
	}
}

// Bad input is refused before the database is needed; close works on a
// binding that never connected.
func TestRefusedBeforeConnecting(t *testing.T) {
	b, err := New("x", map[string]string{"connectionString": "postgres://u@127.0.0.1:1/db?connect_timeout=1", "timeout": "1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		md   map[string]string
		want string
	}{
		{map[string]string{}, "required metadata not set: sql"},
		{map[string]string{"sql": "SELECT 1", "params": "1"}, "invalid metadata property params"},
	} {
		_, err := b.Invoke(context.Background(), &bindings.InvokeRequest{Operation: OpQuery, Metadata: c.md})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v", c.md, err)
		}
	}
	if _, err := b.Invoke(context.Background(), &bindings.InvokeRequest{Operation: OpClose, Metadata: map[string]string{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Invoke(context.Background(), &bindings.InvokeRequest{Operation: OpExec, Metadata: map[string]string{"sql": "x"}}); err == nil || err.Error() != "component is closed" {
		t.Fatalf("after close: %v", err)
	}
	if err := b.Ready(); err != nil {
		t.Fatalf("Ready after close: %v", err)
	}
}
