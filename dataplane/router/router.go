package router

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/skiffd/skiff/dataplane/http1"
)

// Mode says where a handler runs.
type Mode uint8

const (
	// Inline runs on the event loop with views into the read buffer. Only
	// for work that never waits: in-memory state, healthz, metadata.
	Inline Mode = iota
	// Async runs on the worker pool with a private copy of the request.
	Async
	// Stream is Async, and a large body is handed over as BodyStream while
	// it is still arriving, instead of being buffered whole.
	Stream
)

// Route is one row of the endpoint table.
type Route struct {
	Name    string         // for logs and metrics, e.g. "state.get"
	Methods []http1.Method // empty: any method
	Pattern string         // "/v1.0/state/{storeName}/{key}"; a last "{name*}" takes the rest
	Mode    Mode
	NoAuth  bool // reachable without dapr-api-token (healthz)
	Handler Handler
	// Inline, when set on an Async or Stream route, runs on the event loop
	// first whenever the whole body is in memory. It may answer, Offload to
	// Handler, or CallApp; a streamed body always goes to Handler.
	Inline Handler

	paramNames []string
}

// Result of a lookup.
type Result uint8

const (
	Found Result = iota
	NotFound
	MethodNotAllowed
)

type node struct {
	seg      string
	static   []*node
	param    *node
	catchAll *node
	any      *Route
	byMethod [http1.MethodConnect + 1]*Route
	hasRoute bool
}

// Table maps method and path to a route. Lookups do not allocate and are
// safe for concurrent use once Add calls are done.
type Table struct {
	root node
	// Intercept, when set, sees every request first; a non-nil route it
	// returns wins over the table (Dapr's dapr-app-id header invocation).
	Intercept func(r *http1.Request, c *Ctx) *Route
	// Fallback, when set, serves every request that matches no route or
	// matches one only for another method: daprd hands those to service
	// invocation rather than answering 404/405 itself.
	Fallback *Route
}

// New returns an empty table.
func New() *Table { return &Table{} }

// Add inserts r. Patterns are literal segments, "{name}" segments, and an
// optional final "{name*}" that captures the remainder including slashes.
func (t *Table) Add(r Route) error {
	if !strings.HasPrefix(r.Pattern, "/") {
		return fmt.Errorf("router: pattern %q: must start with /", r.Pattern)
	}
	segs := strings.Split(r.Pattern[1:], "/")
	n := &t.root
	route := r
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "*}"):
			if i != len(segs)-1 {
				return fmt.Errorf("router: pattern %q: catch-all must be last", r.Pattern)
			}
			route.paramNames = append(route.paramNames, s[1:len(s)-2])
			if n.catchAll == nil {
				n.catchAll = &node{seg: s}
			}
			n = n.catchAll
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			route.paramNames = append(route.paramNames, s[1:len(s)-1])
			if n.param == nil {
				n.param = &node{seg: s}
			}
			n = n.param
		default:
			var next *node
			for _, c := range n.static {
				if c.seg == s {
					next = c
					break
				}
			}
			if next == nil {
				next = &node{seg: s}
				n.static = append(n.static, next)
			}
			n = next
		}
	}
	if len(route.paramNames) > maxParams {
		return fmt.Errorf("router: pattern %q: more than %d parameters", r.Pattern, maxParams)
	}
	rp := &route
	n.hasRoute = true
	if len(r.Methods) == 0 {
		if n.any != nil {
			return fmt.Errorf("router: pattern %q: duplicate route", r.Pattern)
		}
		n.any = rp
		return nil
	}
	for _, m := range r.Methods {
		if m == http1.MethodOther || n.byMethod[m] != nil {
			return fmt.Errorf("router: pattern %q: bad or duplicate method", r.Pattern)
		}
		n.byMethod[m] = rp
	}
	return nil
}

// MustAdd is Add for tables built at startup, where a bad pattern is a bug.
func (t *Table) MustAdd(routes ...Route) {
	for _, r := range routes {
		if err := t.Add(r); err != nil {
			panic(err)
		}
	}
}

// Match finds the route for method and path (the raw path, before '?') and
// records the parameters in c. It does not allocate.
func (t *Table) Match(method http1.Method, path []byte, c *Ctx) (*Route, Result) {
	c.paramN = 0
	c.path = path
	if len(path) == 0 || path[0] != '/' {
		return nil, NotFound
	}
	var pathMatched bool
	r := t.match(&t.root, method, path, 1, c, &pathMatched)
	if r == nil {
		c.paramN = 0
		if pathMatched {
			return nil, MethodNotAllowed
		}
		return nil, NotFound
	}
	c.Route = r
	return r, Found
}

func (n *node) routeFor(m http1.Method) *Route {
	if m != http1.MethodOther {
		if r := n.byMethod[m]; r != nil {
			return r
		}
	}
	return n.any
}

// match walks segments from path[pos:]; static beats param beats catch-all,
// backtracking when a branch has no route for the method, so that
// "GET /state/{store}/{key}" still serves key "bulk" next to
// "POST /state/{store}/bulk". pathMatched records a path that matched with
// another method (405 rather than 404).
func (t *Table) match(n *node, m http1.Method, path []byte, pos int, c *Ctx, pathMatched *bool) *Route {
	if pos > len(path) {
		if !n.hasRoute {
			return nil
		}
		if r := n.routeFor(m); r != nil {
			return r
		}
		*pathMatched = true
		return nil
	}
	end := bytes.IndexByte(path[pos:], '/')
	if end < 0 {
		end = len(path)
	} else {
		end += pos
	}
	seg := path[pos:end]
	for _, s := range n.static {
		if s.seg == string(seg) {
			if r := t.match(s, m, path, end+1, c, pathMatched); r != nil {
				return r
			}
		}
	}
	saved := c.paramN
	if n.param != nil && len(seg) > 0 && c.paramN < maxParams {
		c.paramSpan[c.paramN] = [2]int32{int32(pos), int32(end)}
		c.paramN++
		if r := t.match(n.param, m, path, end+1, c, pathMatched); r != nil {
			return r
		}
		c.paramN = saved
	}
	if ca := n.catchAll; ca != nil && ca.hasRoute && pos < len(path) && c.paramN < maxParams {
		if r := ca.routeFor(m); r != nil {
			c.paramSpan[c.paramN] = [2]int32{int32(pos), int32(len(path))}
			c.paramN++
			return r
		}
		*pathMatched = true
	}
	return nil
}
