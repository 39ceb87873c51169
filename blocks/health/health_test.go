package health

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/skiffd/skiff/dataplane/router"
)

func serve(t testing.TB, tbl *router.Table, raw string, c *router.Ctx) {
	t.Helper()
	c.Reset()
	c.Req.Reset()
	if _, err := c.Req.Parse([]byte(raw), 4096); err != nil {
		t.Fatal(err)
	}
	r, res := tbl.Match(c.Req.MethodID, c.Req.Path(), c)
	if res != router.Found {
		t.Fatalf("%q: %v", raw, res)
	}
	r.Handler(c)
}

func TestHealthz(t *testing.T) {
	h := New("app1")
	tbl := router.New()
	tbl.MustAdd(h.Routes()...)
	var c router.Ctx
	cases := []struct {
		ready, outbound bool
		req             string
		status          int
		body            string
	}{
		{false, false, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 500, `{"errorCode":"ERR_HEALTH_NOT_READY","message":"dapr is not ready"}`},
		{true, true, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 204, ""},
		{true, true, "GET /v1.0/healthz?appid=app1 HTTP/1.1\r\nHost: x\r\n\r\n", 204, ""},
		{true, true, "GET /v1.0/healthz?appid=other HTTP/1.1\r\nHost: x\r\n\r\n", 500, `{"errorCode":"ERR_HEALTH_APPID_NOT_MATCH","message":"dapr app-id does not match"}`},
		{false, false, "GET /v1.0/healthz/outbound HTTP/1.1\r\nHost: x\r\n\r\n", 500, `{"errorCode":"ERR_HEALTH_NOT_READY","message":"dapr outbound is not ready"}`},
		{false, true, "GET /v1.0/healthz/outbound HTTP/1.1\r\nHost: x\r\n\r\n", 204, ""},
	}
	for _, tc := range cases {
		h.SetReady(tc.ready)
		h.SetOutboundReady(tc.outbound)
		serve(t, tbl, tc.req, &c)
		if c.StatusCode() != tc.status || string(c.RespBody) != tc.body {
			t.Errorf("%q: %d %s", tc.req, c.StatusCode(), c.RespBody)
		}
	}
	for _, r := range h.Routes() {
		if !r.NoAuth {
			t.Errorf("%s must be reachable without an API token", r.Pattern)
		}
	}
}

func TestHealthzDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	h := New("app1")
	h.SetReady(true)
	tbl := router.New()
	tbl.MustAdd(h.Routes()...)
	raw := []byte("GET /v1.0/healthz HTTP/1.1\r\nHost: localhost:3500\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n")
	var c router.Ctx
	n := testing.AllocsPerRun(1000, func() {
		c.Reset()
		c.Req.Reset()
		if _, err := c.Req.Parse(raw, 4096); err != nil {
			t.Fatal(err)
		}
		r, _ := tbl.Match(c.Req.MethodID, c.Req.Path(), &c)
		r.Handler(&c)
	})
	if n != 0 || c.StatusCode() != 204 {
		t.Fatalf("%v allocations, status %d", n, c.StatusCode())
	}
}

func TestHealthzChecks(t *testing.T) {
	h := New("app1")
	tbl := router.New()
	tbl.MustAdd(h.Routes()...)
	h.SetReady(true)
	var down atomic.Bool
	down.Store(true)
	h.AddCheck(func() error { return nil })
	h.AddCheck(func() error {
		if down.Load() {
			return errors.New("state store cache is not ready: dial tcp: refused")
		}
		return nil
	})
	var c router.Ctx
	serve(t, tbl, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n", &c)
	if c.StatusCode() != 500 || string(c.RespBody) != `{"errorCode":"ERR_HEALTH_NOT_READY","message":"dapr is not ready: state store cache is not ready: dial tcp: refused"}` {
		t.Fatalf("%d %s", c.StatusCode(), c.RespBody)
	}
	down.Store(false)
	serve(t, tbl, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n", &c)
	if c.StatusCode() != 204 {
		t.Fatalf("%d %s", c.StatusCode(), c.RespBody)
	}
}
