package resources

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Each case is the YAML text after "value:" and the string daprd hands the
// component (the JSON of the YAML 1.1 value, unquoted when a string).
func TestMetadataValueStringification(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"plain string", "localhost:6379", "localhost:6379"},
		{"double quoted", `"KeFg23!"`, "KeFg23!"},
		{"single quoted", `'it''s'`, "it's"},
		{"quoted number stays text", `"5"`, "5"},
		{"quoted yes stays text", `"yes"`, "yes"},
		{"int", "5", "5"},
		{"negative int", "-12", "-12"},
		{"float", "1.5", "1.5"},
		{"float with zero fraction", "1.0", "1"},
		{"exponent", "1e3", "1000"},
		{"leading dot float", ".5", "0.5"},
		{"hex", "0x1F", "31"},
		{"octal (YAML 1.1)", "0777", "511"},
		{"underscores", "1_000", "1000"},
		{"beyond int64", "12345678901234567890", "12345678901234567890"},
		{"true", "true", "true"},
		{"yes is a YAML 1.1 bool", "yes", "true"},
		{"On is a YAML 1.1 bool", "On", "true"},
		{"off", "off", "false"},
		{"null", "null", ""},
		{"tilde", "~", ""},
		{"explicit str tag", "!!str 5", "5"},
		{"timestamp stays text", "2001-12-14", "2001-12-14"},
		{"html characters", `"<a&b>"`, "<a&b>"},
		{"flow list", "[a, 1, true]", `["a",1,true]`},
		{"flow map sorted keys", "{b: 2, a: x}", `{"a":"x","b":2}`},
		{"nested YAML 1.1 bool", "{x: yes}", `{"x":true}`},
		{"int map key", "{1: a}", `{"1":"a"}`},
		{"literal block", "|\n      line1\n      line2", "line1\nline2\n"},
		{"folded block", ">\n      a\n      b", "a b\n"},
		{"block map", "\n      host: h\n      port: 6379", `{"host":"h","port":6379}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: c\nspec:\n  type: state.in-memory\n  metadata:\n  - name: v\n    value: " + tc.yaml + "\n"
			set := loadOne(t, doc)
			got := set.Components[0].Metadata[0].Value
			if got != tc.want {
				t.Fatalf("value %q: got %q, want %q", tc.yaml, got, tc.want)
			}
		})
	}
}

func TestMetadataValueAbsent(t *testing.T) {
	set := loadOne(t, `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: c
spec:
  type: state.in-memory
  metadata:
  - name: nothing
  - name: empty
    value: ""
`)
	c := set.Components[0]
	if v, ok := c.Lookup("nothing"); !ok || v != "" {
		t.Fatalf("absent value: got %q, %v", v, ok)
	}
	if v, ok := c.Lookup("empty"); !ok || v != "" {
		t.Fatalf("empty value: got %q, %v", v, ok)
	}
}

func TestMetadataValueInfinityIsRejected(t *testing.T) {
	_, err := loadErr(t, map[string]string{"c.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: c
spec:
  type: state.in-memory
  metadata:
  - name: v
    value: .inf
`})
	if err == nil || !strings.Contains(err.Error(), "c.yaml:9: value .inf cannot be represented as JSON") {
		t.Fatalf("got %v", err)
	}
}

func TestMergeKeysAndAliases(t *testing.T) {
	set := loadOne(t, `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: c
spec:
  type: state.in-memory
  metadata:
  - name: base
    value: &base {a: 1, b: 2}
  - name: merged
    value:
      <<: *base
      b: 3
  - name: alias
    value: *base
`)
	c := set.Components[0]
	if v, _ := c.Lookup("merged"); v != `{"a":1,"b":3}` {
		t.Fatalf("merged: %s", v)
	}
	if v, _ := c.Lookup("alias"); v != `{"a":1,"b":2}` {
		t.Fatalf("alias: %s", v)
	}
}

func TestAliasBombFails(t *testing.T) {
	doc := "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bomb\nspec:\n  type: state.in-memory\n  version: v1\n  metadata:\n  - name: x\n    value:\n"
	// Each level doubles the previous: 2^40 nodes when expanded.
	doc += "      l0: &a0 [x, x]\n"
	for i := 1; i <= 40; i++ {
		doc += fmt.Sprintf("      l%d: &a%d [*a%d, *a%d]\n", i, i, i-1, i-1)
	}
	done := make(chan error, 1)
	go func() { _, err := loadErr(t, map[string]string{"c.yaml": doc}); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "excessive aliasing") {
			t.Fatalf("want an excessive-aliasing error, got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("loading an alias bomb hangs")
	}
}

func TestAliasBombInStructFieldsIsFast(t *testing.T) {
	doc := "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: s\nx:\n  r0: &a0 [{match: m, path: /p}, {match: m, path: /p}]\n"
	for i := 1; i <= 40; i++ {
		doc += fmt.Sprintf("  r%d: &a%d [*a%d, *a%d]\n", i, i, i-1, i-1)
	}
	doc += "spec:\n  pubsubname: p\n  topic: t\n  routes:\n    rules: *a40\n"
	done := make(chan struct{})
	go func() { _, _ = loadErr(t, map[string]string{"s.yaml": doc}); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("loading nested aliases in a struct field hangs")
	}
}
