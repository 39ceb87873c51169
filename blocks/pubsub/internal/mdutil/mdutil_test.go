package mdutil

import (
	"testing"
	"time"
)

func TestMD(t *testing.T) {
	m := MD{M: map[string]string{"AckWait": "1500", "d": "2s", "n": "7", "b": "true", "bad": "x"}, What: "t"}
	if d, err := m.Duration("ackWait", 0); err != nil || d != 1500*time.Millisecond {
		t.Fatalf("%v %v", d, err)
	}
	if d, err := m.Duration("d", 0); err != nil || d != 2*time.Second {
		t.Fatalf("%v %v", d, err)
	}
	if d, err := m.Seconds("n", 0); err != nil || d != 7*time.Second {
		t.Fatalf("%v %v", d, err)
	}
	if d, err := m.Seconds("d", 0); err != nil || d != 2*time.Second {
		t.Fatalf("%v %v", d, err)
	}
	if d, _ := m.Duration("missing", time.Minute); d != time.Minute {
		t.Fatal(d)
	}
	if n, err := m.Int("n", 0); err != nil || n != 7 {
		t.Fatal(n, err)
	}
	if b, err := m.Bool("B", false); err != nil || !b {
		t.Fatal(b, err)
	}
	for _, f := range []func() error{
		func() error { _, err := m.Duration("bad", 0); return err },
		func() error { _, err := m.Int("bad", 0); return err },
		func() error { _, err := m.Seconds("bad", 0); return err },
		func() error { _, err := m.Bool("bad", false); return err },
	} {
		if f() == nil {
			t.Error("bad value accepted")
		}
	}
}
