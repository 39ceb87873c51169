package router

import (
	"testing"

	"github.com/skiffd/skiff/dataplane/http1"
)

func noop(*Ctx) {}

func table(t *testing.T) *Table {
	tb := New()
	get := []http1.Method{http1.MethodGet}
	post := []http1.Method{http1.MethodPost, http1.MethodPut}
	tb.MustAdd(
		Route{Name: "get", Methods: get, Pattern: "/v1.0/state/{storeName}/{key}", Handler: noop},
		Route{Name: "del", Methods: []http1.Method{http1.MethodDelete}, Pattern: "/v1.0/state/{storeName}/{key}", Handler: noop},
		Route{Name: "save", Methods: post, Pattern: "/v1.0/state/{storeName}", Handler: noop},
		Route{Name: "bulk", Methods: post, Pattern: "/v1.0/state/{storeName}/bulk", Handler: noop},
		Route{Name: "invoke", Pattern: "/v1.0/invoke/{appId}/method/{method*}", Handler: noop},
		Route{Name: "health", Methods: get, Pattern: "/v1.0/healthz", Handler: noop},
	)
	return tb
}

func TestMatch(t *testing.T) {
	tb := table(t)
	cases := []struct {
		method http1.Method
		path   string
		route  string
		res    Result
		params []string
	}{
		{http1.MethodGet, "/v1.0/state/s1/k1", "get", Found, []string{"s1", "k1"}},
		{http1.MethodDelete, "/v1.0/state/s1/k1", "del", Found, []string{"s1", "k1"}},
		{http1.MethodPost, "/v1.0/state/s1", "save", Found, []string{"s1"}},
		{http1.MethodPost, "/v1.0/state/s1/bulk", "bulk", Found, []string{"s1"}},
		{http1.MethodGet, "/v1.0/state/s1/bulk", "get", Found, []string{"s1", "bulk"}},
		{http1.MethodPatch, "/v1.0/state/s1/k1", "", MethodNotAllowed, nil},
		{http1.MethodGet, "/v1.0/state/s1", "", MethodNotAllowed, nil},
		{http1.MethodGet, "/v1.0/state/s1/a/b", "", NotFound, nil},
		{http1.MethodGet, "/v1.0/state//k", "", NotFound, nil},
		{http1.MethodPatch, "/v1.0/invoke/app/method/a/b/c", "invoke", Found, []string{"app", "a/b/c"}},
		{http1.MethodOther, "/v1.0/invoke/app/method/x", "invoke", Found, []string{"app", "x"}},
		{http1.MethodGet, "/v1.0/invoke/app/method/", "", NotFound, nil},
		{http1.MethodGet, "/v1.0/healthz", "health", Found, nil},
		{http1.MethodGet, "/v1.0/healthz/", "", NotFound, nil},
		{http1.MethodGet, "/nope", "", NotFound, nil},
		{http1.MethodGet, "", "", NotFound, nil},
	}
	for _, tc := range cases {
		var c Ctx
		r, res := tb.Match(tc.method, []byte(tc.path), &c)
		if res != tc.res {
			t.Errorf("%v %s: result %v want %v", tc.method, tc.path, res, tc.res)
			continue
		}
		if res != Found {
			continue
		}
		if r.Name != tc.route {
			t.Errorf("%v %s: route %s want %s", tc.method, tc.path, r.Name, tc.route)
		}
		if c.NumParams() != len(tc.params) {
			t.Errorf("%s: %d params", tc.path, c.NumParams())
			continue
		}
		for i, p := range tc.params {
			if string(c.Param(i)) != p {
				t.Errorf("%s: param %d = %q want %q", tc.path, i, c.Param(i), p)
			}
		}
	}
}

func TestParamByNameAndDecoded(t *testing.T) {
	tb := table(t)
	var c Ctx
	if _, res := tb.Match(http1.MethodGet, []byte("/v1.0/state/s1/a%2Fb%20c"), &c); res != Found {
		t.Fatal(res)
	}
	if string(c.ParamByName("storeName")) != "s1" {
		t.Fatal("storeName")
	}
	if got := string(c.ParamDecoded(1)); got != "a/b c" {
		t.Fatalf("decoded %q", got)
	}
}

func TestAddErrors(t *testing.T) {
	tb := New()
	if err := tb.Add(Route{Pattern: "x"}); err == nil {
		t.Fatal("pattern without slash accepted")
	}
	if err := tb.Add(Route{Pattern: "/a/{r*}/b"}); err == nil {
		t.Fatal("catch-all in the middle accepted")
	}
	tb.MustAdd(Route{Pattern: "/a", Methods: []http1.Method{http1.MethodGet}, Handler: noop})
	if err := tb.Add(Route{Pattern: "/a", Methods: []http1.Method{http1.MethodGet}, Handler: noop}); err == nil {
		t.Fatal("duplicate accepted")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	tb := table(t)
	path := []byte("/v1.0/state/statestore/k1")
	var c Ctx
	n := testing.AllocsPerRun(1000, func() { tb.Match(http1.MethodGet, path, &c) })
	if n != 0 {
		t.Fatalf("%v allocations per match", n)
	}
}

func BenchmarkMatch(b *testing.B) {
	tb := New()
	tb.MustAdd(Route{Name: "get", Methods: []http1.Method{http1.MethodGet}, Pattern: "/v1.0/state/{storeName}/{key}", Handler: noop},
		Route{Name: "bulk", Methods: []http1.Method{http1.MethodPost}, Pattern: "/v1.0/state/{storeName}/bulk", Handler: noop})
	path := []byte("/v1.0/state/statestore/k1")
	var c Ctx
	b.ReportAllocs()
	for b.Loop() {
		tb.Match(http1.MethodGet, path, &c)
	}
}
