package local

import (
	"encoding/json"
	"testing"
)

// FuzzFlatten checks that any JSON object flattens without panicking, that
// every primitive leaf is reachable under some name, and that the file store
// answers for each name it lists.
func FuzzFlatten(f *testing.F) {
	f.Add([]byte(sample), ":")
	f.Add([]byte(`{"a":{"b":"1"},"a:b":"2"}`), ":")
	f.Add([]byte(`{"x":[[],[{"y":null}]],"z":true}`), ".")
	f.Fuzz(func(t *testing.T, b []byte, sep string) {
		var doc map[string]any
		if json.Unmarshal(b, &doc) != nil {
			return
		}
		if sep == "" {
			sep = ":"
		}
		flat := Flatten(doc, sep)
		if n := leaves(doc); len(flat) > n {
			t.Fatalf("%d names from %d leaves", len(flat), n)
		}
		s, err := newFileStoreFrom(b, sep, false, "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		for k := range flat {
			if _, err := s.GetSecret(t.Context(), k, nil); err != nil {
				t.Fatalf("listed %q but get fails: %v", k, err)
			}
		}
		if _, err := newFileStoreFrom(b, sep, true, "fuzz"); err != nil {
			t.Fatal(err)
		}
	})
}

func leaves(v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 0
		for _, e := range v {
			n += leaves(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range v {
			n += leaves(e)
		}
		return n
	}
	return 1
}
