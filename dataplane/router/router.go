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
	Name    string        // for logs and metrics, e.g. "state.get"
	Methods []http1.Method // empty: any method
	Pattern string        // "/v1.0/state/{storeName}/{key}"; a last "{name*}" takes the rest
	Mode    Mode
	NoAuth  bool // reachable without dapr-api-token (healthz)
	Handler Handler

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
	n := t.match(&t.root, path, 1, c)
	if n == nil {
		return nil, NotFound
	}
	r := n.byMethod[method]
	if r == nil || method == http1.MethodOther {
		r = n.any
	}
	if r == nil {
		return nil, MethodNotAllowed
	}
	c.Route = r
	return r, Found
}

// match walks segments from path[pos:]; static beats param beats catch-all,
// with backtracking so "/a/{x}" and "/a/b/c" can coexist.
func (t *Table) match(n *node, path []byte, pos int, c *Ctx) *node {
	if pos > len(path) {
		if n.hasRoute {
			return n
		}
		return nil
	}
	end := bytes.IndexByte(path[pos:], '/')
	last := end < 0
	if last {
		end = len(path)
	} else {
		end += pos
	}
	seg := path[pos:end]
	for _, s := range n.static {
		if s.seg == string(seg) {
			if r := t.match(s, path, end+1, c); r != nil {
				return r
			}
		}
	}
	if n.param != nil && len(seg) > 0 {
		saved := c.paramN
		if c.paramN < maxParams {
			c.paramSpan[c.paramN] = [2]int32{int32(pos), int32(end)}
			c.paramN++
			if r := t.match(n.param, path, end+1, c); r != nil {
				return r
			}
		}
		c.paramN = saved
	}
	if n.catchAll != nil && n.catchAll.hasRoute && pos < len(path) && c.paramN < maxParams {
		c.paramSpan[c.paramN] = [2]int32{int32(pos), int32(len(path))}
		c.paramN++
		return n.catchAll
	}
	return nil
}
