package bindings

import (
	"strconv"
	"testing"

	"github.com/skiffd/skiff/dataplane/router"
)

func serve(t *testing.T, a *API, body, headers string, trace string) *router.Ctx {
	t.Helper()
	c := &router.Ctx{}
	tbl := router.New()
	tbl.MustAdd(a.Routes()...)
	raw := "POST /v1.0/bindings/b HTTP/1.1\r\nHost: x\r\n" + headers + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := c.Req.Parse([]byte(raw), 8192); err != nil {
		t.Fatal(err)
	}
	c.Body = []byte(body)
	c.Trace = append(c.Trace, trace...)
	route, res := tbl.Match(c.Req.MethodID, c.Req.Path(), c)
	if res != router.Found {
		t.Fatal("no route")
	}
	route.Handler(c)
	return c
}

// TestOutputTraceContext: with tracing on, the binding gets the API span
// in its metadata (over any the caller put there), as from daprd; with it
// off the metadata is the caller's.
func TestOutputTraceContext(t *testing.T) {
	out := &fakeOut{ops: []string{"create"}}
	a, err := New([]OutputEntry{{"b", out}})
	if err != nil {
		t.Fatal(err)
	}
	const span = "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"
	body := `{"operation":"create","metadata":{"traceparent":"user","k":"v"}}`
	serve(t, a, body, "tracestate: a=b\r\n", span)
	if md := out.got.Metadata; md["traceparent"] != span || md["tracestate"] != "a=b" || md["k"] != "v" {
		t.Fatalf("metadata with tracing on: %v", md)
	}
	serve(t, a, body, "tracestate: a=b\r\n", "")
	if md := out.got.Metadata; md["traceparent"] != "user" || md["tracestate"] != "" {
		t.Fatalf("metadata with tracing off: %v", md)
	}
}
