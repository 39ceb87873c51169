package main

import (
	"strings"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/router"
)

// unimplementedRoutes answers every route of a building block skiffd does
// not have yet with 501 ERR_API_UNIMPLEMENTED naming the block, never a fake
// success. A prefix that a built block serves (one of its routes starts
// with it) is left to that block.
func unimplementedRoutes(built []router.Route) []router.Route {
	blocks := []struct{ block, prefix string }{
		{"actors", "/v1.0/actors"},
		{"workflows", "/v1.0/workflows"},
		{"workflows", "/v1.0-beta1/workflows"},
		{"workflows", "/v1.0-alpha1/workflows"},
		{"jobs", "/v1.0-alpha1/jobs"},
		{"crypto", "/v1.0-alpha1/crypto"},
		{"conversation", "/v1.0-alpha1/conversation"},
		{"conversation", "/v1.0-alpha2/conversation"},
		{"pub/sub", "/v1.0/publish"},
		{"pub/sub", "/v1.0-alpha1/publish"},
		{"pub/sub", "/v1.0-alpha1/subscriptions"},
		{"bindings", "/v1.0/bindings"},
		{"secrets", "/v1.0/secrets"},
		{"configuration", "/v1.0/configuration"},
		{"configuration", "/v1.0-alpha1/configuration"},
		{"distributed lock", "/v1.0-alpha1/lock"},
		{"distributed lock", "/v1.0-alpha1/unlock"},
	}
	var routes []router.Route
	for _, b := range blocks {
		if servedBy(built, b.prefix) {
			continue
		}
		msg := "the " + b.block + " API is not implemented in skiffd yet"
		h := func(c *router.Ctx) { c.Error(apierr.Unimplemented, msg) }
		routes = append(routes,
			router.Route{Name: "unimplemented", Pattern: b.prefix, Mode: router.Inline, Handler: h},
			router.Route{Name: "unimplemented", Pattern: b.prefix + "/{rest*}", Mode: router.Inline, Handler: h},
		)
	}
	return routes
}

func servedBy(routes []router.Route, prefix string) bool {
	for _, r := range routes {
		if r.Pattern == prefix || strings.HasPrefix(r.Pattern, prefix+"/") {
			return true
		}
	}
	return false
}
