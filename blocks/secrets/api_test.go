package secrets

import (
	"context"
	"errors"
	"testing"

	"github.com/skiffd/skiff/blocks/resources"
)

type fakeStore struct{ data map[string]map[string]string }

func (f *fakeStore) GetSecret(_ context.Context, name string, _ map[string]string) (map[string]string, error) {
	v, ok := f.data[name]
	if !ok {
		return nil, errors.New("secret " + name + " not found")
	}
	return v, nil
}
func (f *fakeStore) BulkGetSecret(context.Context, map[string]string) (map[string]map[string]string, error) {
	return f.data, nil
}
func (f *fakeStore) Features() []string { return nil }
func (f *fakeStore) Close() error       { return nil }

func conf(scopes ...resources.SecretsScope) *resources.Configuration {
	c := resources.DefaultConfiguration()
	c.Spec.Secrets = &resources.SecretsSpec{Scopes: scopes}
	return c
}

func TestAPIErrorsAndScopes(t *testing.T) {
	ctx := context.Background()
	empty, _ := New(nil, nil)
	if _, e := empty.Get(ctx, "s", "k", nil); e == nil || e.E.Status != 500 || e.E.Code != "ERR_SECRET_STORES_NOT_CONFIGURED" || e.Msg != "secret store is not configured" {
		t.Fatalf("not configured: %+v", e)
	}
	st := &fakeStore{data: map[string]map[string]string{"a": {"a": "1"}, "b": {"b": "2"}, "c": {"c": "3"}}}
	api, err := New([]StoreEntry{{"s", st}, {"t", st}}, conf(
		resources.SecretsScope{StoreName: "s", DefaultAccess: "deny", AllowedSecrets: []string{"a"}},
		resources.SecretsScope{StoreName: "t", DeniedSecrets: []string{"b"}},
	))
	if err != nil {
		t.Fatal(err)
	}
	if _, e := api.Get(ctx, "x", "a", nil); e == nil || e.E.Status != 401 || e.Msg != "failed finding secret store with key x" {
		t.Fatalf("not found: %+v", e)
	}
	if _, e := api.Get(ctx, "s", "b", nil); e == nil || e.E.Status != 403 || e.E.Code != "ERR_PERMISSION_DENIED" || e.Msg != `access denied by policy to get "b" from "s"` {
		t.Fatalf("denied: %+v", e)
	}
	if v, e := api.Get(ctx, "s", "a", nil); e != nil || v["a"] != "1" {
		t.Fatalf("allowed: %v %+v", v, e)
	}
	if _, e := api.Get(ctx, "t", "zz", nil); e == nil || e.E.Status != 500 || e.E.Code != "ERR_SECRET_GET" ||
		e.Msg != "failed getting secret with key zz from secret store t: secret zz not found" {
		t.Fatalf("get: %+v", e)
	}
	b, _ := api.Bulk(ctx, "s", nil)
	if len(b) != 1 || b["a"] == nil {
		t.Fatalf("bulk s = %v", b)
	}
	b, _ = api.Bulk(ctx, "t", nil)
	if len(b) != 2 || b["b"] != nil {
		t.Fatalf("bulk t = %v", b)
	}
	if _, err := New([]StoreEntry{{"s", st}, {"s", st}}, nil); err == nil {
		t.Fatal("duplicate accepted")
	}
}

func TestQueryMetadata(t *testing.T) {
	md := QueryMetadata([]byte("metadata.version_id=2&metadata.a=%20x&metadata.a=y&other=1&;bad"))
	if len(md) != 2 || md["version_id"] != "2" || md["a"] != " x" {
		t.Fatalf("md = %v", md)
	}
	if QueryMetadata(nil) != nil {
		t.Fatal("nil query")
	}
}
