package local

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const sample = `{"redisPassword":"pw","db":{"user":"u","hosts":["a","b"],"tls":{"on":"yes"}},"n":5}`

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileStoreSingle(t *testing.T) {
	s, err := NewFileStore(map[string]string{"secretsFile": writeFile(t, sample)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := s.GetSecret(ctx, "db:hosts:1", nil)
	if err != nil || !reflect.DeepEqual(got, map[string]string{"db:hosts:1": "b"}) {
		t.Fatalf("got %v %v", got, err)
	}
	if got, _ := s.GetSecret(ctx, "n", nil); got["n"] != "%!s(float64=5)" {
		t.Fatalf("number rendering = %q, want Dapr's %%s rendering", got["n"])
	}
	if _, err := s.GetSecret(ctx, "db", nil); err == nil || err.Error() != "secret db not found" {
		t.Fatalf("err = %v", err)
	}
	bulk, _ := s.BulkGetSecret(ctx, nil)
	if len(bulk) != 6 || bulk["db:tls:on"]["db:tls:on"] != "yes" {
		t.Fatalf("bulk = %v", bulk)
	}
}

func TestFileStoreSeparatorAndMulti(t *testing.T) {
	p := writeFile(t, sample)
	s, err := NewFileStore(map[string]string{"SecretsFile": p, "nestedSeparator": ".", "multiValued": "true"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSecret(context.Background(), "db", nil)
	want := map[string]string{"user": "u", "hosts.0": "a", "hosts.1": "b", "tls.on": "yes"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v %v", got, err)
	}
	got, _ = s.GetSecret(context.Background(), "redisPassword", nil)
	if !reflect.DeepEqual(got, map[string]string{"redisPassword": "pw"}) {
		t.Fatalf("got %v", got)
	}
	if _, err := s.GetSecret(context.Background(), "n", nil); err == nil {
		t.Fatal("a number at the top of a multi-valued file is not a secret in Dapr")
	}
	if f := s.Features(); len(f) != 1 {
		t.Fatalf("features %v", f)
	}
}

func TestFileStoreErrors(t *testing.T) {
	if _, err := NewFileStore(map[string]string{}); err == nil {
		t.Fatal("no secretsFile accepted")
	}
	if _, err := NewFileStore(map[string]string{"secretsFile": writeFile(t, `[1]`)}); err == nil {
		t.Fatal("non-object accepted")
	}
	if _, err := NewFileStore(map[string]string{"secretsFile": "/nonexistent/x.json"}); err == nil {
		t.Fatal("missing file accepted")
	}
	if _, err := NewFileStore(map[string]string{"secretsFile": writeFile(t, `{}`), "multiValued": "maybe"}); err == nil {
		t.Fatal("bad boolean accepted")
	}
}

func TestEnvStore(t *testing.T) {
	s, _ := NewEnvStore(map[string]string{"prefix": "APP_"})
	env := map[string]string{"APP_A": "1", "APP_DAPR_X": "2", "OTHER": "3", "APP_": "4"}
	s.getenv = func(k string) string { return env[k] }
	s.environ = func() []string {
		var out []string
		for k, v := range env {
			out = append(out, k+"="+v)
		}
		return out
	}
	got, _ := s.GetSecret(context.Background(), "A", nil)
	if got["A"] != "1" {
		t.Fatalf("got %v", got)
	}
	got, err := s.GetSecret(context.Background(), "MISSING", nil)
	if err != nil || got["MISSING"] != "" || len(got) != 1 {
		t.Fatalf("missing variable: %v %v", got, err)
	}
	bulk, _ := s.BulkGetSecret(context.Background(), nil)
	want := map[string]map[string]string{"A": {"A": "1"}, "DAPR_X": {"DAPR_X": "2"}}
	if !reflect.DeepEqual(bulk, want) {
		t.Fatalf("bulk = %v", bulk)
	}
	s2, _ := NewEnvStore(nil)
	env["DAPR_API_TOKEN"] = "t"
	env["APP_API_TOKEN"] = "t"
	s2.getenv, s2.environ = s.getenv, s.environ
	if got, _ := s2.GetSecret(context.Background(), "DAPR_API_TOKEN", nil); got["DAPR_API_TOKEN"] != "" {
		t.Fatal("DAPR_* exposed")
	}
	bulk, _ = s2.BulkGetSecret(context.Background(), nil)
	if _, ok := bulk["APP_API_TOKEN"]; ok {
		t.Fatal("APP_API_TOKEN exposed")
	}
	if _, ok := bulk["OTHER"]; !ok {
		t.Fatal("OTHER missing")
	}
}
