package localstorage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/skiffd/skiff/blocks/internal/uuid"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/skiffd/skiff/blocks/bindings"
)

// Dapr's disallowedRootPaths.
var disallowed = []string{"/proc", "/sys", "/boot", "/var/run/secrets"}

// Binding is one bindings.localstorage component.
type Binding struct {
	root string // absolute, symlinks resolved
}

// New validates rootPath and creates it.
func New(md map[string]string) (*Binding, error) {
	root, _ := bindings.Lookup(md, "rootPath")
	if root == "" {
		return nil, errors.New("failed to parse metadata: property rootPath must not be empty")
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("failed to parse metadata: %w", err)
	}
	if err := checkAllowed(root); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o777); err != nil {
		return nil, fmt.Errorf("unable to create directory specified by 'rootPath' %s: %w", root, err)
	}
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, fmt.Errorf("failed to evaluate symlinks in rootPath: %w", err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return nil, errors.New("failed to parse metadata: property rootPath represents a file and not a directory")
	}
	if err := checkAllowed(root); err != nil {
		return nil, err
	}
	return &Binding{root: root}, nil
}

// checkAllowed refuses Dapr's disallowed roots; it runs before the root is
// created and again once its symbolic links are resolved.
func checkAllowed(root string) error {
	for _, p := range disallowed {
		if root == p || strings.HasPrefix(root, p+"/") {
			return errors.New("failed to parse metadata: property rootPath points to a disallowed location")
		}
	}
	return nil
}

// Operations implements bindings.Output.
func (b *Binding) Operations() []string {
	return []string{bindings.OpCreate, bindings.OpGet, bindings.OpList, bindings.OpDelete}
}

// ErrEscapes is returned for a fileName that leaves rootPath.
var ErrEscapes = errors.New("the path leaves rootPath")

// Resolve maps fileName to an absolute path under the root, and the path
// relative to it. A leading '/' is taken as relative to the root (as in
// Dapr); ".." that climbs above the root, or a symbolic link on the way
// that points outside it, is refused.
func (b *Binding) Resolve(fileName string) (abs, rel string, err error) {
	if strings.IndexByte(fileName, 0) >= 0 {
		return "", "", fmt.Errorf("fileName %q: %w", fileName, ErrEscapes)
	}
	rel = filepath.Clean("/" + fileName)[1:] // "/.." cleans to "/": detect climbing on the raw name
	if climbs(fileName) {
		return "", "", fmt.Errorf("fileName %q: %w", fileName, ErrEscapes)
	}
	if rel == "" {
		rel = "."
	}
	abs = filepath.Join(b.root, rel)
	// The deepest existing ancestor, symlinks resolved, must stay inside.
	check := abs
	for {
		real, err := filepath.EvalSymlinks(check)
		if err == nil {
			if real != b.root && !strings.HasPrefix(real, b.root+"/") {
				return "", "", fmt.Errorf("fileName %q: %w", fileName, ErrEscapes)
			}
			break
		}
		if check == b.root {
			break
		}
		check = filepath.Dir(check)
	}
	return abs, rel, nil
}

// climbs reports whether a relative path goes above its start at any point.
func climbs(p string) bool {
	depth := 0
	for _, seg := range strings.Split(strings.TrimLeft(p, "/"), "/") {
		switch seg {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		default:
			depth++
		}
	}
	return false
}

// Invoke implements bindings.Output.
func (b *Binding) Invoke(_ context.Context, req *bindings.InvokeRequest) (*bindings.InvokeResponse, error) {
	name := req.Metadata["fileName"]
	if name == "" && req.Operation == bindings.OpCreate {
		name = uuid.New()
	}
	switch req.Operation {
	case bindings.OpCreate:
		return b.create(name, req.Data)
	case bindings.OpGet:
		return b.get(name)
	case bindings.OpDelete:
		return b.delete(name)
	case bindings.OpList:
		return b.list(name)
	}
	return nil, fmt.Errorf("unsupported operation %s", req.Operation)
}

// DecodeData is Dapr's create-time decoding: unquote a JSON string, then
// use the base64 decoding when there is one.
func DecodeData(data []byte) []byte {
	if s, err := strconv.Unquote(string(data)); err == nil {
		data = []byte(s)
	}
	if d, err := base64.StdEncoding.DecodeString(string(data)); err == nil {
		data = d
	}
	return data
}

func (b *Binding) create(name string, data []byte) (*bindings.InvokeResponse, error) {
	data = DecodeData(data)
	abs, rel, err := b.Resolve(name)
	if err != nil {
		return nil, fmt.Errorf("error getting absolute path for file %s: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o777); err != nil {
		return nil, fmt.Errorf("error creating directory %s: %w", filepath.Dir(abs), err)
	}
	if err := os.WriteFile(abs, data, 0o666); err != nil {
		return nil, fmt.Errorf("error creating file %s: %w", abs, err)
	}
	out, _ := json.Marshal(struct {
		FileName string `json:"fileName"`
	}{rel})
	return &bindings.InvokeResponse{Data: out}, nil
}

func (b *Binding) get(name string) (*bindings.InvokeResponse, error) {
	abs, _, err := b.Resolve(name)
	if err != nil {
		return nil, fmt.Errorf("error getting absolute path for file %s: %w", name, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("file not found: %s", abs)
		}
		return nil, fmt.Errorf("error opening path %s: %w", abs, err)
	}
	return &bindings.InvokeResponse{Data: data}, nil
}

func (b *Binding) delete(name string) (*bindings.InvokeResponse, error) {
	abs, _, err := b.Resolve(name)
	if err != nil {
		return nil, fmt.Errorf("error getting absolute path for file %s: %w", name, err)
	}
	if abs == b.root {
		return nil, fmt.Errorf("error deleting file %s: refusing to delete rootPath", abs)
	}
	if err := os.Remove(abs); err != nil {
		return nil, fmt.Errorf("error deleting file %s: %w", abs, err)
	}
	return nil, nil
}

func (b *Binding) list(name string) (*bindings.InvokeResponse, error) {
	abs, _, err := b.Resolve(name)
	if err != nil {
		return nil, fmt.Errorf("error getting absolute path for file %s: %w", name, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("error getting stats for path %s: %w", abs, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("unable to list files as the file specified is not a directory: %s", abs)
	}
	var files []string
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error listing files in the directory %s: %w", abs, err)
	}
	out, _ := json.Marshal(files) // null for none, as Dapr answers
	return &bindings.InvokeResponse{Data: out}, nil
}

// Close implements bindings.Output.
func (b *Binding) Close() error { return nil }
