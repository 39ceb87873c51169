package configuration

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// Routes returns the configuration routes (GET only, both API versions).
func (a *API) Routes() []router.Route {
	get := []http1.Method{http1.MethodGet}
	var routes []router.Route
	for _, v := range []string{"/v1.0", "/v1.0-alpha1"} {
		routes = append(routes,
			router.Route{Name: "configuration.get", Methods: get, Pattern: v + "/configuration/{storeName}", Mode: router.Inline, Handler: a.handler(a.serveGet)},
			router.Route{Name: "configuration.subscribe", Methods: get, Pattern: v + "/configuration/{storeName}/subscribe", Mode: router.Inline, Handler: a.handler(a.serveSubscribe)},
			router.Route{Name: "configuration.unsubscribe", Methods: get, Pattern: v + "/configuration/{storeName}/{configurationSubscribeID}/unsubscribe", Mode: router.Inline, Handler: a.handler(a.serveUnsubscribe)},
		)
	}
	return routes
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

// query returns the "key" values and the metadata.* parameters as daprd's
// r.URL.Query() sees them (bad pairs skipped, first metadata value wins).
func query(c *router.Ctx) (keys []string, md map[string]string) {
	q, _ := url.ParseQuery(string(c.Req.Query()))
	keys = q["key"]
	for k, v := range q {
		if name, ok := strings.CutPrefix(k, "metadata."); ok && len(v) > 0 {
			if md == nil {
				md = map[string]string{}
			}
			md[name] = v[0]
		}
	}
	return keys, md
}

func (a *API) serveGet(c *router.Ctx) {
	store := string(c.ParamDecoded(0))
	keys, md := query(c)
	items, aerr := a.Get(c.Context(), store, keys, md)
	if aerr != nil {
		fail(c, aerr)
		return
	}
	if len(items) == 0 {
		c.SetStatus(204)
		return
	}
	c.RespBody = itemsJSON(c.RespBody[:0], items)
	c.JSON(200)
}

func (a *API) serveSubscribe(c *router.Ctx) {
	store := string(c.ParamDecoded(0))
	keys, md := query(c)
	id, aerr := a.Subscribe(context.Background(), store, keys, md)
	if aerr != nil {
		fail(c, aerr)
		return
	}
	c.RespBody = append(c.RespBody[:0], `{"id":`...)
	c.RespBody = apierr.AppendJSONString(c.RespBody, id)
	c.RespBody = append(c.RespBody, "}\n"...)
	c.JSON(200)
}

func (a *API) serveUnsubscribe(c *router.Ctx) {
	store := string(c.ParamDecoded(0))
	id := string(c.ParamDecoded(1))
	aerr := a.Unsubscribe(c.Context(), store, id)
	if aerr == nil {
		c.RespBody = append(c.RespBody[:0], "{\"ok\":true}\n"...)
		c.JSON(200)
		return
	}
	if aerr.Kind != apierr.ConfigurationUnsubscribe {
		fail(c, aerr)
		return
	}
	// daprd answers a failed unsubscribe with {"message":…} (ok false is
	// omitted), not with its error body.
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{aerr.Message})
	c.RespBody = append(append(c.RespBody[:0], b...), '\n')
	c.JSON(500)
}
