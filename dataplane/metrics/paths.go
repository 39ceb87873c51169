package metrics

import (
	"bytes"
	"strings"
)

// unmatchedPath is daprd's path label for a path no pathMatching pattern
// matched, in low cardinality.
const unmatchedPath = "_"

// endpointNames maps skiff route names to daprd's endpoint names, the
// method label in low cardinality.
var endpointNames = map[string]string{
	"state.get":         "GetState",
	"state.save":        "SaveState",
	"state.delete":      "DeleteState",
	"state.bulk":        "GetBulkState",
	"state.transaction": "ExecuteStateTransaction",
	"state.query":       "QueryStateAlpha1",
	"metadata.get":      "GetMetadata",
	"metadata.set":      "PutMetadata",
	"healthz":           "Healthz",
	"healthz.outbound":  "HealthzOutbound",
	"shutdown":          "Shutdown",
	"invoke.fallback":   "InvokeService",
	"pubsub.publish":    "PublishEvent",
	"pubsub.bulk":       "BulkPublishEvent",
	"bindings.invoke":   "InvokeBinding",
	"secrets.get":       "GetSecret",
	"secrets.bulk":      "GetBulkSecret",
	"lock.trylock":      "TryLockAlpha1",
	"lock.unlock":       "UnlockAlpha1",
}

// EndpointName is the method label in low cardinality: daprd's endpoint
// name, "InvokeService/<app id>" for invocation, the route's own name for a
// route daprd does not name, "" when no route matched (as daprd).
func EndpointName(route string, path []byte) string {
	if route == "invoke" {
		return "InvokeService/" + string(invokeTarget(path))
	}
	if n, ok := endpointNames[route]; ok {
		return n
	}
	return route
}

// invokeTarget returns the app id of /v1.0/invoke/{id}/method/…, a view.
func invokeTarget(path []byte) []byte {
	const prefix = "/v1.0/invoke/"
	if !bytes.HasPrefix(path, []byte(prefix)) {
		return nil
	}
	rest := path[len(prefix):]
	if i := bytes.IndexByte(rest, '/'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// normalizePath drops what daprd drops from the path label in increased
// cardinality: the key of /v1.0/state/{store}/{key} and of
// /v1.0/secrets/{store}/{key}. It returns a view of path.
func normalizePath(path []byte) []byte {
	if len(path) < 2 || path[0] != '/' {
		return path
	}
	// Segment boundaries of the first three segments.
	ends := [3]int{}
	n := 0
	for i := 1; i < len(path) && n < 3; i++ {
		if path[i] == '/' {
			ends[n] = i
			n++
		}
	}
	if n < 3 {
		return path // fewer than four segments: nothing to drop
	}
	seg2 := path[ends[0]+1 : ends[1]]
	if string(seg2) == "state" || string(seg2) == "secrets" {
		return path[:ends[2]]
	}
	return path
}

// pathMatcher matches paths against spec.metric.http.pathMatching patterns
// with net/http ServeMux rules: "{name}" matches one segment, "{name...}"
// the rest, a trailing "/" makes a prefix; the most specific pattern wins.
type pathMatcher struct {
	patterns []pattern
}

type pattern struct {
	text     string
	segs     []string // "" for a wildcard segment
	rest     bool     // ends in {name...} or "/" (prefix)
	literals int      // literal segments, for precedence
}

func newPathMatcher(ps []string) *pathMatcher {
	if len(ps) == 0 {
		return nil
	}
	m := &pathMatcher{}
	for _, p := range ps {
		if !strings.HasPrefix(p, "/") {
			continue
		}
		pt := pattern{text: p}
		body := p[1:]
		if strings.HasSuffix(body, "/") || body == "" {
			pt.rest = true
			body = strings.TrimSuffix(body, "/")
		}
		if body != "" {
			for _, s := range strings.Split(body, "/") {
				switch {
				case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "...}"):
					pt.rest = true
				case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
					pt.segs = append(pt.segs, "")
				default:
					pt.segs = append(pt.segs, s)
					pt.literals++
				}
			}
		}
		m.patterns = append(m.patterns, pt)
	}
	if len(m.patterns) == 0 {
		return nil
	}
	return m
}

// match returns the most specific pattern matching path.
func (m *pathMatcher) match(path []byte) (string, bool) {
	best, bestScore := -1, -1
	for i := range m.patterns {
		p := &m.patterns[i]
		if !p.matches(path) {
			continue
		}
		// More literal segments win; then an exact pattern over a prefix.
		score := p.literals*4 + len(p.segs)*2
		if !p.rest {
			score++
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return "", false
	}
	return m.patterns[best].text, true
}

func (p *pattern) matches(path []byte) bool {
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	rest := path[1:]
	for _, s := range p.segs {
		if len(rest) == 0 && s != "" {
			return false
		}
		var seg []byte
		if i := bytes.IndexByte(rest, '/'); i >= 0 {
			seg, rest = rest[:i], rest[i+1:]
		} else {
			seg, rest = rest, nil
		}
		if s == "" {
			if len(seg) == 0 {
				return false
			}
			continue
		}
		if string(seg) != s {
			return false
		}
	}
	return p.rest || len(rest) == 0
}
