package resources

import (
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// foldKeys rewrites the mapping keys of n that match a field of t only when
// case is ignored, so that yaml.v3 (case-sensitive) decodes what daprd's
// encoding/json (case-insensitive) accepts, e.g. pubsubName for pubsubname.
// Keys of Go maps (user data such as metadata names) are left alone.
func foldKeys(n *yaml.Node, t reflect.Type) {
	(&folder{seen: make(map[foldVisit]bool)}).fold(n, t)
}

// folder remembers the (node, type) pairs it has folded: aliases let one
// node appear many times, and walking every appearance of nested aliases
// would take exponential time. Folding is idempotent, so once is enough.
type folder struct{ seen map[foldVisit]bool }

type foldVisit struct {
	n *yaml.Node
	t reflect.Type
}

func (f *folder) fold(n *yaml.Node, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if f.seen[foldVisit{n, t}] {
		return
	}
	f.seen[foldVisit{n, t}] = true
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // such types match their keys themselves
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				for name, typ := range fields {
					if strings.EqualFold(name, k.Value) {
						k.Value, ft, ok = name, typ, true
						break
					}
				}
			}
			if ok {
				f.fold(n.Content[i+1], ft)
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for _, c := range n.Content {
			f.fold(c, t.Elem())
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 1; i < len(n.Content); i += 2 {
			f.fold(n.Content[i], t.Elem())
		}
	}
}

// yamlFields maps the YAML key of each field of struct t (inline fields
// flattened) to the field's type.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's default key
		}
		out[name] = f.Type
	}
	return out
}
