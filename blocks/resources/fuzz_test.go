package resources

import (
	"errors"
	"strings"
	"testing"
)

// FuzzLoadData feeds arbitrary file contents to the loader: it must never
// panic, and every error it reports must name the file (the promise that a
// broken resource stops startup with a message pointing at it).
func FuzzLoadData(f *testing.F) {
	for _, s := range []string{
		"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: s\nspec:\n  type: state.redis\n  version: v1\n  metadata:\n  - name: redisHost\n    value: localhost:6379\n",
		"kind: Subscription\napiVersion: dapr.io/v2alpha1\nmetadata: {name: x}\nspec: {pubsubname: p, topic: t, routes: {default: /d, rules: [{match: 'event.type == \"a\"', path: /a}]}}\n",
		"---\n---\nkind: Component\n", "a: [", "kind: Component\nspec: {metadata: [{name: a, value: {b: [1, yes, 0777]}}]}\n",
		"kind: Component\nmetadata: {name: s}\nspec: {type: x.y, metadata: [{name: p, secretKeyRef: {name: n, key: k}}]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := &loader{opts: Options{AppID: "app", Getenv: func(string) string { return "" }}, set: &Set{}, seen: make(map[string]map[string]string)}
		l.loadData("c.yaml", data)
		for _, err := range l.errs {
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), "c.yaml") {
				t.Fatalf("error without the file: %v", err)
			}
		}
	})
}
