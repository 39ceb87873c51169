package memory

import (
	"strings"
	"testing"
)

func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"", "v", "v||1", "||", "a||b||c", "|"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		it := ParseValue(s)
		if !strings.HasPrefix(s, it.Value) || strings.Contains(it.Value, "||") || strings.Contains(it.Version, "||") {
			t.Fatalf("ParseValue(%q) = %+v", s, it)
		}
	})
}
