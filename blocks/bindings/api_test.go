package bindings

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type fakeOut struct {
	ops  []string
	got  *InvokeRequest
	resp *InvokeResponse
	err  error
}

func (f *fakeOut) Operations() []string { return f.ops }
func (f *fakeOut) Invoke(_ context.Context, r *InvokeRequest) (*InvokeResponse, error) {
	f.got = r
	return f.resp, f.err
}
func (f *fakeOut) Close() error { return nil }

func TestParseRequest(t *testing.T) {
	r, err := ParseRequest([]byte(`{"data":"hi","operation":"create"}`))
	if err != nil || string(r.Data) != `"hi"` || r.Operation != "create" || r.Metadata == nil {
		t.Fatalf("%+v %v", r, err)
	}
	r, _ = ParseRequest([]byte(`{"operation":"get"}`))
	if string(r.Data) != "null" {
		t.Fatalf("absent data = %q, want null (daprd marshals the nil)", r.Data)
	}
	r, _ = ParseRequest([]byte(`{"data":{"z":1,"a":[true,null,1.5e3]}}`))
	if string(r.Data) != `{"a":[true,null,1500],"z":1}` {
		t.Fatalf("data = %s", r.Data)
	}
	_, err = ParseRequest([]byte(`[]`))
	if err == nil || !strings.Contains(err.Error(), "type http.OutputBindingRequest") {
		t.Fatalf("err = %v", err)
	}
}

func TestInvokeErrors(t *testing.T) {
	out := &fakeOut{ops: []string{"create", "get"}, resp: &InvokeResponse{Data: []byte("x")}}
	a, err := New([]OutputEntry{{"b", out}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ name, op, msg string }{
		{"b", "", "error invoking output binding b: operation field is missing from request"},
		{"zz", "get", "error invoking output binding zz: couldn't find output binding zz"},
		{"b", "list", "error invoking output binding b: binding b does not support operation list. supported operations:create get"},
	} {
		_, e := a.Invoke(ctx, tc.name, &InvokeRequest{Operation: tc.op})
		if e == nil || e.E.Status != 500 || e.E.Code != "ERR_INVOKE_OUTPUT_BINDING" || e.Msg != tc.msg {
			t.Errorf("%s/%s: %+v", tc.name, tc.op, e)
		}
	}
	resp, e := a.Invoke(ctx, "b", &InvokeRequest{Operation: "get"})
	if e != nil || string(resp.Data) != "x" {
		t.Fatalf("%v %+v", resp, e)
	}
	out.err = errors.New("boom")
	if _, e := a.Invoke(ctx, "b", &InvokeRequest{Operation: "get"}); e == nil || e.Msg != "error invoking output binding b: boom" {
		t.Fatalf("%+v", e)
	}
	if _, err := New([]OutputEntry{{"b", out}, {"b", out}}); err == nil {
		t.Fatal("duplicate accepted")
	}
}

func TestRouteForAndHeaders(t *testing.T) {
	if RouteFor("cron", "") != "/cron" || RouteFor("cron", "x/y") != "/x/y" || RouteFor("c", "/a") != "/a" {
		t.Fatal("RouteFor")
	}
	if validHeader("a\r", "b") || validHeader("a", "b\nc") || validHeader("", "x") || !validHeader("readTimeUTC", "2026") {
		t.Fatal("validHeader")
	}
	if !IsTruthy(" Yes ") || IsTruthy("no") || IsTruthy("") {
		t.Fatal("IsTruthy")
	}
}

// FuzzParseRequest: any body either fails cleanly or yields a request whose
// data is valid JSON and whose metadata is never nil.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(`{"data":"hi","operation":"create","metadata":{"a":"b"}}`))
	f.Add([]byte(`{"data":{"x":[1,2,{"y":null}]}}`))
	f.Add([]byte(`{"operation":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		if r.Metadata == nil || len(r.Data) == 0 {
			t.Fatalf("%+v", r)
		}
		if _, err := ParseRequest(append(append([]byte(`{"data":`), r.Data...), '}')); err != nil {
			t.Fatalf("re-encoded data %q does not parse: %v", r.Data, err)
		}
	})
}
