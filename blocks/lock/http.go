package lock

import (
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// Routes returns the lock routes. Handlers are Inline; a store that may
// block moves the exchange to the worker pool first.
func (a *API) Routes() []router.Route {
	post := []http1.Method{http1.MethodPost}
	return []router.Route{
		{Name: "lock.trylock", Methods: post, Pattern: "/v1.0-alpha1/lock/{storeName}", Mode: router.Inline, Handler: a.handler(a.serveTryLock)},
		{Name: "lock.unlock", Methods: post, Pattern: "/v1.0-alpha1/unlock/{storeName}", Mode: router.Inline, Handler: a.handler(a.serveUnlock)},
	}
}

func (a *API) handler(serve router.Handler) router.Handler {
	return func(c *router.Ctx) {
		if e := a.stores[string(c.ParamDecoded(0))]; e != nil && !e.inline {
			c.Offload(serve)
			return
		}
		serve(c)
	}
}

func fail(c *router.Ctx, e *Error) { c.Error(e.Kind, e.Message) }

func (a *API) serveTryLock(c *router.Ctx) {
	store := string(c.ParamDecoded(0))
	req, err := ParseRequest(c.Body)
	if err != nil {
		fail(c, errMalformed(err))
		return
	}
	ok, aerr := a.TryLock(c.Context(), store, req)
	if aerr != nil {
		fail(c, aerr)
		return
	}
	if ok {
		c.RespBody = append(c.RespBody[:0], `{"success":true}`...)
	} else {
		c.RespBody = append(c.RespBody[:0], `{"success":false}`...)
	}
	c.JSON(200)
}

func (a *API) serveUnlock(c *router.Ctx) {
	store := string(c.ParamDecoded(0))
	req, err := ParseRequest(c.Body)
	if err != nil {
		fail(c, errMalformed(err))
		return
	}
	st, aerr := a.Unlock(c.Context(), store, req)
	if aerr != nil {
		fail(c, aerr)
		return
	}
	c.RespBody = append(c.RespBody[:0], `{"status":`...)
	c.RespBody = router.AppendInt(c.RespBody, int64(st))
	c.RespBody = append(c.RespBody, '}')
	c.JSON(200)
}
