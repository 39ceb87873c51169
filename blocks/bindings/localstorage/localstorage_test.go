package localstorage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffd/skiff/blocks/bindings"
)

func newTest(t *testing.T) *Binding {
	t.Helper()
	b, err := New(map[string]string{"rootPath": filepath.Join(t.TempDir(), "root")})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestResolve(t *testing.T) {
	b := newTest(t)
	for name, rel := range map[string]string{"a": "a", "/a/b": "a/b", "a/../b": "b", "./x/": "x", "": "."} {
		_, got, err := b.Resolve(name)
		if err != nil || got != rel {
			t.Errorf("Resolve(%q) = %q %v, want %q", name, got, err, rel)
		}
	}
	for _, name := range []string{"..", "../x", "a/../../x", "/../x", "a/b/../../../x", "x\x00"} {
		if _, _, err := b.Resolve(name); !errors.Is(err, ErrEscapes) {
			t.Errorf("Resolve(%q) = %v, want refusal", name, err)
		}
	}
	if err := os.Symlink(t.TempDir(), filepath.Join(b.root, "out")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Resolve("out/f"); !errors.Is(err, ErrEscapes) {
		t.Errorf("through a link: %v", err)
	}
}

func TestOperations(t *testing.T) {
	b := newTest(t)
	ctx := context.Background()
	inv := func(op, name, data string) (*bindings.InvokeResponse, error) {
		return b.Invoke(ctx, &bindings.InvokeRequest{Operation: op, Data: []byte(data), Metadata: map[string]string{"fileName": name}})
	}
	if r, err := inv("create", "d/f", `"plain text"`); err != nil || string(r.Data) != `{"fileName":"d/f"}` {
		t.Fatalf("create %v %v", r, err)
	}
	if r, _ := inv("get", "d/f", ""); string(r.Data) != "plain text" {
		t.Fatalf("get %q", r.Data)
	}
	if r, _ := inv("list", "", ""); !strings.Contains(string(r.Data), filepath.Join(b.root, "d", "f")) {
		t.Fatalf("list %s", r.Data)
	}
	if r, _ := inv("list", "d", ""); string(r.Data) == "null" {
		t.Fatal("list d empty")
	}
	if r, err := inv("delete", "d/f", ""); err != nil || r != nil {
		t.Fatalf("delete %v %v", r, err)
	}
	if r, _ := inv("list", "d", ""); string(r.Data) != "null" {
		t.Fatalf("empty list %s, want null as Dapr", r.Data)
	}
	if _, err := inv("get", "d/f", ""); err == nil || !strings.Contains(err.Error(), "file not found") {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := inv("delete", "", ""); err == nil {
		t.Fatal("deleting the root")
	}
	if _, err := inv("list", "nothere", ""); err == nil {
		t.Fatal("list missing")
	}
}

func TestDecodeData(t *testing.T) {
	for in, want := range map[string]string{`"Hello World"`: "Hello World", `"aGk="`: "hi", `{"a":1}`: `{"a":1}`, `aGk=`: "hi"} {
		if got := string(DecodeData([]byte(in))); got != want {
			t.Errorf("DecodeData(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Fatal("no rootPath")
	}
	f := filepath.Join(t.TempDir(), "file")
	_ = os.WriteFile(f, nil, 0o600)
	if _, err := New(map[string]string{"rootPath": f}); err == nil {
		t.Fatal("a file as rootPath")
	}
	if _, err := New(map[string]string{"rootPath": "/proc/self"}); err == nil {
		t.Fatal("/proc accepted")
	}
}

// FuzzResolve: whatever the name, a resolved path stays under the root.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a/../../b", "/abs", "./.", "..a/b..", "a//b/"} {
		f.Add(s)
	}
	root := f.TempDir()
	b, err := New(map[string]string{"rootPath": root})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		abs, rel, err := b.Resolve(name)
		if err != nil {
			return
		}
		if abs != b.root && !strings.HasPrefix(abs, b.root+"/") {
			t.Fatalf("%q resolved to %q outside %q", name, abs, b.root)
		}
		if strings.HasPrefix(rel, "..") && (len(rel) == 2 || rel[2] == '/') {
			t.Fatalf("%q: rel %q", name, rel)
		}
	})
}
