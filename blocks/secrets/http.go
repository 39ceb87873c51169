package secrets

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// The HTTP adapter. Both routes are Inline: a store that answers from
// memory (NonBlocking) is served on the event loop; any other store, and
// an unknown one, moves the exchange to the worker pool with Offload first.
// encoding/json does the encoding, which gives daprd's exact output
// (sorted keys, HTML escaping).

// Routes returns the secrets routes for the endpoint table.
func (a *API) Routes() []router.Route {
	get := []http1.Method{http1.MethodGet}
	return []router.Route{
		{Name: "secrets.bulk", Methods: get, Pattern: "/v1.0/secrets/{secretStoreName}/bulk", Mode: router.Inline, Handler: a.onLoop(a.serveBulk)},
		{Name: "secrets.get", Methods: get, Pattern: "/v1.0/secrets/{secretStoreName}/{key}", Mode: router.Inline, Handler: a.onLoop(a.serveGet)},
	}
}

// onLoop serves h on the event loop when the named store never waits, and
// hands the exchange to the worker pool otherwise.
func (a *API) onLoop(h router.Handler) router.Handler {
	return func(c *router.Ctx) {
		if !a.nonBlocking[string(c.ParamDecoded(0))] {
			c.Offload(h)
			return
		}
		h(c)
	}
}

func fail(c *router.Ctx, e *Error) { c.Error(e.E, e.Msg) }

// QueryMetadata returns the metadata.* query parameters as daprd's
// getMetadataFromRequest does: the first value of each, prefix removed.
func QueryMetadata(rawQuery []byte) map[string]string {
	if len(rawQuery) == 0 {
		return nil
	}
	q, _ := url.ParseQuery(string(rawQuery)) // daprd ignores bad pairs too
	var md map[string]string
	for k, v := range q {
		if rest, ok := strings.CutPrefix(k, "metadata."); ok && len(v) > 0 {
			if md == nil {
				md = map[string]string{}
			}
			md[rest] = v[0]
		}
	}
	return md
}

func (a *API) serveGet(c *router.Ctx) {
	store := string(c.ParamDecoded(0))
	key := string(c.ParamDecoded(1))
	data, e := a.Get(c.Context(), store, key, QueryMetadata(c.Req.Query()))
	if e != nil {
		fail(c, e)
		return
	}
	if data == nil {
		c.SetStatus(204)
		return
	}
	writeJSON(c, data)
}

func (a *API) serveBulk(c *router.Ctx) {
	store := string(c.ParamDecoded(0))
	data, e := a.Bulk(c.Context(), store, QueryMetadata(c.Req.Query()))
	if e != nil {
		fail(c, e)
		return
	}
	if data == nil {
		c.SetStatus(204)
		return
	}
	writeJSON(c, data)
}

func writeJSON(c *router.Ctx, v any) {
	b, err := json.Marshal(v)
	if err != nil { // maps of strings always encode
		c.SetStatus(500)
		return
	}
	c.RespBody = append(c.RespBody[:0], b...)
	c.JSON(200)
}
