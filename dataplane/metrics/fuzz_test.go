package metrics

import (
	"bytes"
	"testing"
)

// FuzzPathLabel feeds arbitrary paths to the label code: normalisation
// returns a prefix of the path and matching never panics.
func FuzzPathLabel(f *testing.F) {
	for _, s := range []string{"/v1.0/state/s/k", "/v1.0/secrets/s/k/x", "/", "", "//", "/a//b/", "/v1.0/invoke/x/method/y", "/orders/1/items/"} {
		f.Add(s)
	}
	pm := newPathMatcher([]string{"/orders/{id}", "/orders/{id}/items/{item}", "/static/", "/a/{rest...}"})
	f.Fuzz(func(t *testing.T, path string) {
		p := []byte(path)
		if n := normalizePath(p); !bytes.HasPrefix(p, n) {
			t.Fatalf("normalizePath(%q) = %q, not a prefix", path, n)
		}
		pm.match(p)
		invokeTarget(p)
	})
}
