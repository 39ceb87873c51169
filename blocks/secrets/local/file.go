package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// FeatureMultipleKeyValues is the capability a multiValued file store has.
const FeatureMultipleKeyValues = "MULTIPLE_KEY_VALUES_PER_SECRET"

// FileStore is secretstores.local.file. Its secrets are read at start;
// a change to the file needs a restart, as in daprd.
type FileStore struct {
	multi bool
	// single: name -> value; multi: name -> values (a string at the top of
	// the file is a one-value secret named after itself).
	single map[string]string
	multiV map[string]map[string]string
}

// lookup finds a metadata value ignoring the name's case, as Dapr's
// metadata decoder does.
func lookup(md map[string]string, name string) (string, bool) {
	if v, ok := md[name]; ok {
		return v, true
	}
	for k, v := range md {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func parseBool(md map[string]string, name string) (bool, error) {
	v, ok := lookup(md, name)
	if !ok || v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("metadata %s: %q is not a boolean", name, v)
	}
	return b, nil
}

// NewFileStore reads the file named by secretsFile.
func NewFileStore(md map[string]string) (*FileStore, error) {
	path, _ := lookup(md, "secretsFile")
	if path == "" {
		return nil, errors.New("missing local secrets file in metadata")
	}
	sep, _ := lookup(md, "nestedSeparator")
	if sep == "" {
		sep = ":"
	}
	multi, err := parseBool(md, "multiValued")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secretsFile: %w", err)
	}
	return newFileStoreFrom(b, sep, multi, path)
}

func newFileStoreFrom(b []byte, sep string, multi bool, path string) (*FileStore, error) {
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("secretsFile %s: %w", path, err)
	}
	s := &FileStore{multi: multi}
	if !multi {
		s.single = Flatten(doc, sep)
		return s, nil
	}
	s.multiV = make(map[string]map[string]string, len(doc))
	for k, v := range doc {
		switch v := v.(type) {
		case string:
			s.multiV[k] = map[string]string{k: v}
		case map[string]any:
			s.multiV[k] = Flatten(v, sep)
		}
		// Other types at the top of a multi-valued file are ignored, as
		// in Dapr.
	}
	return s, nil
}

// Flatten turns a JSON object into name -> value, joining the keys of
// nested objects and the indexes of arrays with sep ("db:hosts:0").
// Values are printed with Go's %s verb, exactly as Dapr's file store does
// (so a number 5 becomes "%!s(float64=5)": quote numbers in the file).
// When two paths flatten to the same name, the first in key order wins;
// Dapr's outcome there depends on map order.
func Flatten(doc map[string]any, sep string) map[string]string {
	out := make(map[string]string)
	var path []string
	var visit func(v any)
	visit = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				path = append(path, k)
				visit(v[k])
				path = path[:len(path)-1]
			}
		case []any:
			for i, e := range v {
				path = append(path, strconv.Itoa(i))
				visit(e)
				path = path[:len(path)-1]
			}
		default:
			name := strings.Join(path, sep)
			if _, dup := out[name]; !dup {
				out[name] = fmt.Sprintf("%s", v) //nolint:staticcheck // Dapr's exact rendering
			}
		}
	}
	visit(doc)
	return out
}

// GetSecret implements secrets.Store.
func (s *FileStore) GetSecret(_ context.Context, name string, _ map[string]string) (map[string]string, error) {
	if s.multi {
		v, ok := s.multiV[name]
		if !ok {
			return nil, fmt.Errorf("secret %s not found", name)
		}
		return copyMap(v), nil
	}
	v, ok := s.single[name]
	if !ok {
		return nil, fmt.Errorf("secret %s not found", name)
	}
	return map[string]string{name: v}, nil
}

// BulkGetSecret implements secrets.Store.
func (s *FileStore) BulkGetSecret(context.Context, map[string]string) (map[string]map[string]string, error) {
	if s.multi {
		out := make(map[string]map[string]string, len(s.multiV))
		for k, v := range s.multiV {
			out[k] = copyMap(v)
		}
		return out, nil
	}
	out := make(map[string]map[string]string, len(s.single))
	for k, v := range s.single {
		out[k] = map[string]string{k: v}
	}
	return out, nil
}

// Features implements secrets.Store.
func (s *FileStore) Features() []string {
	if s.multi {
		return []string{FeatureMultipleKeyValues}
	}
	return nil
}

// Close implements secrets.Store.
func (s *FileStore) Close() error { return nil }

// NonBlocking implements secrets.NonBlocking: the secrets are in memory.
func (s *FileStore) NonBlocking() bool { return true }

func copyMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
