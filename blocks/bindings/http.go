package bindings

import (
	"context"
	"net/textproto"

	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// Routes returns the output binding route. It is Async: components do
// disk and network I/O.
func (a *API) Routes() []router.Route {
	return []router.Route{{
		Name: "bindings.invoke", Methods: []http1.Method{http1.MethodPost, http1.MethodPut},
		Pattern: "/v1.0/bindings/{name}", Mode: router.Async, Handler: a.serveInvoke,
	}}
}

func (a *API) serveInvoke(c *router.Ctx) {
	name := string(c.ParamDecoded(0))
	req, err := ParseRequest(c.Body)
	if err != nil {
		e := errMalformed(err)
		c.Error(e.E, e.Msg)
		return
	}
	if len(c.Trace) > 0 {
		// With tracing on, daprd passes the API span on to the binding in
		// the request metadata (bindings.http sends it as headers).
		req.Metadata["traceparent"] = string(c.Trace)
		if ts := c.Req.Header("tracestate"); len(ts) > 0 && len(ts) <= 512 {
			req.Metadata["tracestate"] = string(ts)
		}
	}
	ctx := c.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	resp, e := a.Invoke(ctx, name, req)
	if e != nil {
		c.Error(e.E, e.Msg)
		return
	}
	if resp == nil {
		c.SetStatus(204)
		return
	}
	for k, v := range resp.Metadata {
		if validHeader(k, v) {
			// daprd's answer goes through fasthttp and net/http, which
			// both canonicalise the name: "Metadata.statuscode".
			c.SetHeader(textproto.CanonicalMIMEHeaderKey("metadata."+k), v)
		}
	}
	c.RespBody = append(c.RespBody[:0], resp.Data...)
	c.JSON(200)
}

// validHeader keeps a component's metadata from breaking the response head.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if ch <= ' ' || ch >= 0x7f || ch == ':' {
			return false
		}
	}
	for i := 0; i < len(value); i++ {
		if ch := value[i]; ch == '\r' || ch == '\n' || ch == 0 {
			return false
		}
	}
	return true
}
