package uuid

import (
	"regexp"
	"testing"
)

var v4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestFormats(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		for _, s := range []string{New(), string(AppendFast(nil))} {
			if !v4.MatchString(s) {
				t.Fatalf("not a version 4 UUID: %q", s)
			}
			if seen[s] {
				t.Fatalf("repeated: %s", s)
			}
			seen[s] = true
		}
	}
	if got := string(AppendV4([]byte("x"), [16]byte{})); got != "x00000000-0000-4000-8000-000000000000" {
		t.Fatalf("AppendV4 of zeros: %s", got)
	}
}

func TestAppendFastDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = AppendFast(buf[:0]) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
