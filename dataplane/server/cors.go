package server

import (
	"bytes"
	"net/textproto"
	"strings"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// CORS is daprd's --allowed-origins behaviour (go-chi/cors in front of the
// router, before token authentication): "*" (the default) allows every
// origin with credentials; a comma-separated list allows those origins
// ("*" inside an entry is a wildcard), without credentials. Both allow the
// methods HEAD, GET, POST, PUT, PATCH, DELETE and every request header.
type CORS struct {
	all       bool
	origins   []string    // lower case
	wildcards [][2]string // prefix, suffix
}

// NewCORS parses --allowed-origins.
func NewCORS(allowedOrigins string) *CORS {
	c := &CORS{}
	if strings.TrimSpace(allowedOrigins) == "*" {
		c.all = true
		return c
	}
	for _, o := range strings.Split(allowedOrigins, ",") {
		o = strings.ToLower(strings.TrimSpace(o))
		switch {
		case o == "":
		case o == "*":
			c.all, c.origins, c.wildcards = true, nil, nil
			return c
		case strings.Contains(o, "*"):
			i := strings.IndexByte(o, '*')
			c.wildcards = append(c.wildcards, [2]string{o[:i], o[i+1:]})
		default:
			c.origins = append(c.origins, o)
		}
	}
	return c
}

// Marks on an exchange (exchange.cors): which CORS headers its response gets.
const (
	corsVary  = 1 // "Vary: Origin" only
	corsAllow = 2 // Vary plus Access-Control-Allow-Origin (and -Credentials)
)

func (c *CORS) originAllowed(origin []byte) bool {
	if c.all {
		return true
	}
	o := strings.ToLower(string(origin)) // only for listed origins, never the default
	for _, a := range c.origins {
		if a == o {
			return true
		}
	}
	for _, w := range c.wildcards {
		if len(o) >= len(w[0])+len(w[1]) && strings.HasPrefix(o, w[0]) && strings.HasSuffix(o, w[1]) {
			return true
		}
	}
	return false
}

func corsMethodAllowed(m http1.Method) bool {
	switch m {
	case http1.MethodHead, http1.MethodGet, http1.MethodPost, http1.MethodPut, http1.MethodPatch, http1.MethodDelete, http1.MethodOptions:
		return true
	}
	return false
}

func corsMethodNameAllowed(m []byte) bool {
	switch strings.ToUpper(string(m)) {
	case "HEAD", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return true
	}
	return false
}

// isPreflight reports an OPTIONS request with Access-Control-Request-Method.
func isPreflight(req *http1.Request) bool {
	return req.MethodID == http1.MethodOptions && len(req.Header("Access-Control-Request-Method")) > 0
}

// mark decides the CORS headers of an actual (non-preflight) request.
func (c *CORS) mark(req *http1.Request) uint8 {
	origin := req.Header("Origin")
	if len(origin) == 0 || !c.originAllowed(origin) || !corsMethodAllowed(req.MethodID) {
		return corsVary
	}
	return corsAllow
}

// appendHeaders encodes the headers mark chose; the origin is read again
// from the request, whose views follow the head wherever it was moved.
func (c *CORS) appendHeaders(dst []byte, mark uint8, req *http1.Request) []byte {
	dst = append(dst, "Vary: Origin\r\n"...)
	if mark != corsAllow {
		return dst
	}
	if c.all {
		return append(dst, "Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Credentials: true\r\n"...)
	}
	dst = append(dst, "Access-Control-Allow-Origin: "...)
	dst = append(dst, req.Header("Origin")...)
	return append(dst, "\r\n"...)
}

// preflight answers an OPTIONS preflight as go-chi/cors does: 200, no body,
// the Vary headers always, the Allow headers when origin and method pass.
func (c *CORS) preflight(ctx *router.Ctx) {
	req := &ctx.Req
	ctx.SetStatus(200)
	ctx.SetHeader("Vary", "Origin")
	ctx.SetHeader("Vary", "Access-Control-Request-Method")
	ctx.SetHeader("Vary", "Access-Control-Request-Headers")
	origin := req.Header("Origin")
	method := req.Header("Access-Control-Request-Method")
	if len(origin) == 0 || !c.originAllowed(origin) || !corsMethodNameAllowed(method) {
		return
	}
	if c.all {
		ctx.SetHeader("Access-Control-Allow-Origin", "*")
	} else {
		ctx.SetHeaderBytes("Access-Control-Allow-Origin", origin)
	}
	ctx.SetHeader("Access-Control-Allow-Methods", strings.ToUpper(string(method)))
	if hs := req.Header("Access-Control-Request-Headers"); len(bytes.TrimSpace(hs)) > 0 {
		var list []string
		for _, h := range bytes.Split(hs, []byte(",")) {
			if h = bytes.TrimSpace(h); len(h) > 0 {
				list = append(list, textproto.CanonicalMIMEHeaderKey(string(h)))
			}
		}
		ctx.SetHeader("Access-Control-Allow-Headers", strings.Join(list, ", "))
	}
	if c.all {
		ctx.SetHeader("Access-Control-Allow-Credentials", "true")
	}
}

// corsPreflight marks a preflight answered in startRequest's refusal path
// (same connection handling: the body, if any, is skipped).
var corsPreflight = &apierr.Error{Status: 200}
