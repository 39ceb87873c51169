package resources

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// daprd reads resources with sigs.k8s.io/yaml, which parses YAML 1.1 (via a
// yaml.v2 fork) and converts it to JSON. A metadata value reaches the
// component as that JSON, unquoted when it is a string. The functions here
// reproduce that conversion on yaml.v3 nodes.

// stringify returns the string daprd would give a component for the value
// node n, and whether the value counts as present (null or absent does not:
// daprd then falls back to envRef).
func stringify(n *yaml.Node) (string, bool, error) {
	c := converter{budget: maxValueNodes}
	v, err := c.value(n)
	if err != nil {
		return "", false, err
	}
	switch v := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false, errorf(n.Line, "value cannot be represented as JSON: %v", err)
	}
	return string(b), true, nil
}

// maxValueNodes bounds the nodes one metadata value may expand to: aliases
// can make a small file describe an exponentially large value ("billion
// laughs"), which must fail instead of hanging startup.
const maxValueNodes = 100_000

// converter walks one value, counting the nodes it visits.
type converter struct{ budget int }

// value converts a node to the Go value sigs.k8s.io/yaml would marshal
// to JSON: nil, bool, int64, uint64, float64, string, []any, map[string]any.
func (c *converter) value(n *yaml.Node) (any, error) {
	if c.budget--; c.budget < 0 {
		return nil, errorf(n.Line, "value expands to too many nodes (excessive aliasing)")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0])
	case yaml.AliasNode:
		return c.value(n.Alias)
	case yaml.ScalarNode:
		v := resolve11(n)
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return nil, errorf(n.Line, "value %s cannot be represented as JSON", n.Value)
		}
		return v, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, err := c.value(e)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		if err := c.merge(out, n); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, errorf(n.Line, "unsupported YAML node")
}

// merge adds the pairs of mapping n to out. Keys from "<<" merges never
// override keys written in the mapping itself.
func (c *converter) merge(out map[string]any, n *yaml.Node) error {
	explicit := make(map[string]bool)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Style&yaml.TaggedStyle == 0 &&
			k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			merges = append(merges, v)
			continue
		}
		key, err := jsonKey(k)
		if err != nil {
			return err
		}
		val, err := c.value(v)
		if err != nil {
			return err
		}
		out[key] = val
		explicit[key] = true
	}
	for _, m := range merges {
		for m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, src := range srcs {
			for src.Kind == yaml.AliasNode {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode {
				return errorf(src.Line, "map merge requires a mapping")
			}
			merged := make(map[string]any)
			if err := c.merge(merged, src); err != nil {
				return err
			}
			for k, v := range merged {
				if !explicit[k] {
					if _, done := out[k]; !done {
						out[k] = v
					}
				}
			}
		}
	}
	return nil
}

// jsonKey turns a mapping key into a JSON object key the way
// sigs.k8s.io/yaml does (numbers and booleans become their text).
func jsonKey(k *yaml.Node) (string, error) {
	for k.Kind == yaml.AliasNode {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", errorf(k.Line, "unsupported map key: not a scalar")
	}
	switch v := resolve11(k).(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		switch {
		case math.IsInf(v, 1):
			return ".inf", nil
		case math.IsInf(v, -1):
			return "-.inf", nil
		case math.IsNaN(v):
			return ".nan", nil
		}
		return strconv.FormatFloat(v, 'g', -1, 32), nil
	}
	return "", errorf(k.Line, "unsupported map key %q", k.Value)
}

// yaml11Words are the plain scalars YAML 1.1 (yaml.v2) resolves by name.
var yaml11Words = map[string]any{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true,
	"true": true, "True": true, "TRUE": true,
	"on": true, "On": true, "ON": true,
	"n": false, "N": false, "no": false, "No": false, "NO": false,
	"false": false, "False": false, "FALSE": false,
	"off": false, "Off": false, "OFF": false,
	"": nil, "~": nil, "null": nil, "Null": nil, "NULL": nil,
	".nan": math.NaN(), ".NaN": math.NaN(), ".NAN": math.NaN(),
	".inf": math.Inf(1), ".Inf": math.Inf(1), ".INF": math.Inf(1),
	"+.inf": math.Inf(1), "+.Inf": math.Inf(1), "+.INF": math.Inf(1),
	"-.inf": math.Inf(-1), "-.Inf": math.Inf(-1), "-.INF": math.Inf(-1),
}

var yamlStyleFloat = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// resolve11 resolves a scalar with yaml.v2's YAML 1.1 rules. Quoted and
// block scalars and explicit !!str are strings; timestamps stay strings,
// as yaml.v2 keeps them when decoding into interface{}.
func resolve11(n *yaml.Node) any {
	s := n.Value
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return s
	}
	if n.Style&yaml.TaggedStyle != 0 && (n.Tag == "!!str" || n.Tag == "!!binary") {
		return s
	}
	if v, ok := yaml11Words[s]; ok {
		return v
	}
	switch c := s[0]; {
	case c == '.':
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case c == '+' || c == '-' || ('0' <= c && c <= '9'):
		plain := strings.ReplaceAll(s, "_", "")
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return u
		}
		if yamlStyleFloat.MatchString(plain) {
			if f, err := strconv.ParseFloat(plain, 64); err == nil {
				return f
			}
		}
	}
	return s
}
