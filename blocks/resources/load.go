package resources

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads every resource in the directories paths (the --resources-path
// values, in order) for the app appID, taking NAMESPACE, POD_NAME and envRef
// values from this process's environment.
func Load(paths []string, appID string) (*Set, error) {
	return LoadWith(paths, OptionsFromEnv(appID))
}

// LoadWith is Load with explicit options. The returned error joins one
// *Error per problem found; any error means startup must stop.
func LoadWith(paths []string, opts Options) (*Set, error) {
	l := &loader{opts: opts, set: &Set{}, seen: make(map[string]map[string]string)}
	for _, dir := range paths {
		l.loadDir(dir)
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return l.set, nil
}

type loader struct {
	opts Options
	set  *Set
	errs []error
	// seen maps kind → name → "file:line" of the first definition.
	seen map[string]map[string]string
}

func (l *loader) warnf(format string, args ...any) {
	l.set.Warnings = append(l.set.Warnings, fmt.Sprintf(format, args...))
}

func (l *loader) skipf(format string, args ...any) {
	l.set.Skipped = append(l.set.Skipped, fmt.Sprintf(format, args...))
}

// loadDir reads the YAML files of dir, not its subdirectories, as daprd does.
func (l *loader) loadDir(dir string) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		l.errs = append(l.errs, &Error{File: dir, Msg: fmt.Sprintf("cannot read resources directory: %v", err)})
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if !isYAML(e.Name()) {
			l.warnf("%s: not a .yaml or .yml file, not loaded", path)
			continue
		}
		l.loadFile(path)
	}
}

func isYAML(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}

func (l *loader) loadFile(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		l.errs = append(l.errs, &Error{File: path, Msg: err.Error()})
		return
	}
	l.loadData(path, data)
}

// loadData reads every document of one file's contents.
func (l *loader) loadData(path string, data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			// The decoder cannot resynchronise after a syntax error.
			l.errs = append(l.errs, fileError(path, err))
			return
		}
		if err := l.loadDoc(path, &doc); err != nil {
			l.errs = append(l.errs, fileError(path, err))
		}
	}
}

// header is what every resource document starts with.
type header struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
}

// apiVersions lists, per kind, the apiVersions daprd 1.18 reads.
var apiVersions = map[string][]string{
	"Component":     {"dapr.io/v1alpha1"},
	"Subscription":  {"dapr.io/v1alpha1", "dapr.io/v2alpha1", "dapr.io/v1"},
	"Configuration": {"dapr.io/v1alpha1"},
	"Resiliency":    {"dapr.io/v1alpha1"},
	"HTTPEndpoint":  {"dapr.io/v1alpha1"},
}

func (l *loader) loadDoc(file string, doc *yaml.Node) error {
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	for root.Kind == yaml.AliasNode {
		root = root.Alias
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil // an empty document, e.g. after a trailing "---"
	}
	if root.Kind != yaml.MappingNode {
		return errorf(root.Line, "a resource document must be a YAML mapping")
	}
	// Read the type first, so documents of other kinds are skipped whatever
	// the shape of the rest of them.
	var tm struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
	}
	foldKeys(root, reflect.TypeOf(tm))
	if err := root.Decode(&tm); err != nil {
		return err
	}
	h := header{APIVersion: tm.APIVersion, Kind: tm.Kind}
	where := fmt.Sprintf("%s:%d", file, root.Line)

	versions, known := apiVersions[h.Kind]
	switch {
	case h.Kind == "":
		l.warnf("%s: document has no kind, skipped", where)
		return nil
	case !known:
		l.warnf("%s: kind %s is not supported, skipped", where, h.Kind)
		return nil
	case !slices.Contains(versions, h.APIVersion):
		l.warnf("%s: %s with apiVersion %q is not supported (want %s), skipped",
			where, h.Kind, h.APIVersion, strings.Join(versions, " or "))
		return nil
	}

	foldKeys(root, reflect.TypeOf(h))
	if err := root.Decode(&h); err != nil {
		return err
	}
	if h.Metadata.Name == "" {
		_, line := find(root, "metadata", "name")
		return errorf(line, "metadata.name is missing")
	}
	if msg := invalidName(h.Metadata.Name); msg != "" {
		_, line := find(root, "metadata", "name")
		return errorf(line, "invalid %s name %q: %s", h.Kind, h.Metadata.Name, msg)
	}
	// Like daprd: a resource of another namespace is ignored only when this
	// sidecar's namespace is known.
	if ns := h.Metadata.Namespace; l.opts.Namespace != "" && ns != "" && ns != l.opts.Namespace {
		l.skipf("%s: %s %s skipped: its namespace %s is not %s", where, h.Kind, h.Metadata.Name, ns, l.opts.Namespace)
		return nil
	}
	// daprd rejects duplicate names per kind, before scopes are applied;
	// subscriptions are not checked.
	if h.Kind != "Subscription" {
		names := l.seen[h.Kind]
		if names == nil {
			names = make(map[string]string)
			l.seen[h.Kind] = names
		}
		if first, dup := names[h.Metadata.Name]; dup {
			return errorf(root.Line, "duplicate %s name %q, first defined at %s", h.Kind, h.Metadata.Name, first)
		}
		names[h.Metadata.Name] = where
	}

	switch h.Kind {
	case "Component":
		return l.component(file, root, h)
	case "Subscription":
		return l.subscription(file, root, h)
	case "Configuration":
		return l.configuration(file, root, h)
	case "Resiliency":
		return l.resiliency(file, root, h)
	default: // HTTPEndpoint
		return l.httpEndpoint(file, root, h)
	}
}

// invalidName applies Kubernetes' path segment rule, as daprd does.
func invalidName(name string) string {
	switch {
	case name == "." || name == "..":
		return "may not be '.' or '..'"
	case strings.ContainsAny(name, "/%"):
		return "may not contain '/' or '%'"
	}
	return ""
}

// inScope reports whether appID may use a resource with these scopes.
func (l *loader) inScope(scopes []string) bool {
	return len(scopes) == 0 || slices.Contains(scopes, l.opts.AppID)
}

func (l *loader) skipScope(file string, line int, kind, name string, scopes []string) {
	l.skipf("%s:%d: %s %s skipped: app %q is not in its scopes [%s]",
		file, line, kind, name, l.opts.AppID, strings.Join(scopes, ", "))
}

// find follows mapping keys from n. It returns the node at the end of path
// (nil when some key is absent) and the line of the deepest node reached,
// for error messages.
func find(n *yaml.Node, path ...string) (*yaml.Node, int) {
	line := n.Line
	for _, key := range path {
		for n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return nil, line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				line = n.Content[i].Line
				break
			}
		}
		if next == nil {
			return nil, line
		}
		n = next
	}
	return n, line
}
