package acl

import (
	"fmt"
	"path"
	"strings"

	"github.com/skiffd/skiff/blocks/resources"
)

// Actions and policy kinds, as daprd names them.
const (
	Allow = "allow"
	Deny  = "deny"

	PolicyGlobal = "global"
	PolicyApp    = "app"

	// DefaultTrustDomain is daprd's when none is given.
	DefaultTrustDomain = "public"
)

// List is a compiled access control list.
type List struct {
	DefaultAction string
	TrustDomain   string
	policies      map[string]*policy // key: appID || namespace
}

type policy struct {
	appID, namespace, trustDomain string
	defaultAction                 string
	ops                           *node
}

// operation is the action of one operation pattern.
type operation struct {
	verbs  map[string]string // HTTP verb (or "*") -> action
	action string            // for calls without a verb (gRPC)
}

// node is one path segment of the operations trie.
type node struct {
	exact    map[string]*node
	globs    []globChild // segments with '*'
	rest     *operation  // a "**" child: matches every remaining segment
	terminal *operation  // a pattern ends here
}

type globChild struct {
	pattern string
	n       *node
}

func key(appID, ns string) string { return appID + "||" + ns }

// Compile validates spec and builds its List; nil (allow everything) when
// no access control is specified, as in daprd.
func Compile(spec *resources.AccessControlSpec) (*List, error) {
	if spec == nil || spec.TrustDomain == "" && spec.DefaultAction == "" && len(spec.Policies) == 0 {
		return nil, nil
	}
	l := &List{DefaultAction: strings.ToLower(spec.DefaultAction), TrustDomain: spec.TrustDomain, policies: map[string]*policy{}}
	if l.TrustDomain == "" {
		l.TrustDomain = DefaultTrustDomain
	}
	if l.DefaultAction == "" {
		// Policies without a global action: the safer default, deny.
		l.DefaultAction = Allow
		if len(spec.Policies) > 0 {
			l.DefaultAction = Deny
		}
	}
	if err := checkAction("defaultAction", l.DefaultAction); err != nil {
		return nil, err
	}
	var noTrust, noNS []string
	noApp := false
	for _, ps := range spec.Policies {
		bad := false
		if ps.AppID == "" {
			noApp = true
		}
		if ps.TrustDomain == "" {
			noTrust, bad = append(noTrust, ps.AppID), true
		}
		if ps.Namespace == "" {
			noNS, bad = append(noNS, ps.AppID), true
		}
		if bad {
			continue
		}
		p := &policy{appID: ps.AppID, namespace: ps.Namespace, trustDomain: ps.TrustDomain,
			defaultAction: strings.ToLower(ps.DefaultAction), ops: &node{}}
		if p.defaultAction != "" {
			if err := checkAction("policies["+ps.AppID+"].defaultAction", p.defaultAction); err != nil {
				return nil, err
			}
		}
		for _, op := range ps.Operations {
			action := strings.ToLower(op.Action)
			if action == "" {
				action = Allow // the documented default
			}
			if err := checkAction("policies["+ps.AppID+"].operations["+op.Name+"].action", action); err != nil {
				return nil, err
			}
			if strings.TrimSpace(op.Name) == "" {
				return nil, fmt.Errorf("acl: policies[%s]: an operation has no name", ps.AppID)
			}
			o := &operation{verbs: map[string]string{}, action: action}
			for _, v := range op.HTTPVerb {
				o.verbs[v] = action
			}
			if err := p.ops.insert(op.Name, o); err != nil {
				return nil, fmt.Errorf("acl: policies[%s]: %w", ps.AppID, err)
			}
		}
		l.policies[key(ps.AppID, ps.Namespace)] = p
	}
	if len(noTrust) > 0 || len(noNS) > 0 || noApp {
		return nil, fmt.Errorf("invalid access control spec. missing trustdomain for apps: %v, missing namespace for apps: %v, missing app name on at least one of the app policies: %v",
			noTrust, noNS, noApp)
	}
	return l, nil
}

func checkAction(field, a string) error {
	if a != Allow && a != Deny {
		return fmt.Errorf("acl: %s %q: want allow or deny", field, a)
	}
	return nil
}

// segments splits a lower-cased, cleaned operation path.
func segments(op string) []string {
	op = strings.ToLower(op)
	if !strings.HasPrefix(op, "/") {
		op = "/" + op
	}
	op = path.Clean(op)
	if op == "/" {
		return []string{""}
	}
	return strings.Split(op[1:], "/")
}

func (n *node) insert(name string, o *operation) error {
	segs := segments(name)
	for i, s := range segs {
		switch {
		case s == "**":
			if i != len(segs)-1 {
				return fmt.Errorf("operation %q: ** must be the last segment", name)
			}
			n.rest = o
			return nil
		case strings.Contains(s, "*"):
			var next *node
			for _, g := range n.globs {
				if g.pattern == s {
					next = g.n
				}
			}
			if next == nil {
				next = &node{}
				n.globs = append(n.globs, globChild{s, next})
			}
			n = next
		default:
			if n.exact == nil {
				n.exact = map[string]*node{}
			}
			next := n.exact[s]
			if next == nil {
				next = &node{}
				n.exact[s] = next
			}
			n = next
		}
	}
	n.terminal = o
	return nil
}

// search finds the operation of segs: an exact segment wins over a glob,
// which wins over "**".
func (n *node) search(segs []string) *operation {
	if len(segs) == 0 {
		return n.terminal
	}
	if next := n.exact[segs[0]]; next != nil {
		if o := next.search(segs[1:]); o != nil {
			return o
		}
	}
	for _, g := range n.globs {
		if globMatch(g.pattern, segs[0]) {
			if o := g.n.search(segs[1:]); o != nil {
				return o
			}
		}
	}
	return n.rest
}

// globMatch matches one segment against a pattern where '*' stands for
// any run of characters (nothing else is special, as in daprd).
func globMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Caller identifies the calling app by its SPIFFE ID, which daprd takes
// from the caller's mTLS certificate only; a zero Caller is unknown (no
// mTLS, as in standalone mode without Sentry), and only the global default
// action applies to it.
type Caller struct {
	AppID, Namespace, TrustDomain string
}

// Allowed is daprd's IsOperationAllowedByAccessControlPolicy for an HTTP
// app: whether caller may call operation (the method path) with verb, and
// which policy decided ("global" or "app"). A nil List allows everything.
func (l *List) Allowed(c Caller, operation, verb string) (bool, string) {
	if l == nil {
		return true, ""
	}
	action, decided := l.DefaultAction, PolicyGlobal
	if c.AppID == "" {
		return action == Allow, decided
	}
	p := l.policies[key(c.AppID, c.Namespace)]
	if p == nil || p.trustDomain != c.TrustDomain || p.namespace != c.Namespace {
		return action == Allow, decided
	}
	if p.defaultAction != "" {
		action, decided = p.defaultAction, PolicyApp
	}
	if o := p.ops.search(segments(operation)); o != nil {
		switch {
		case verb == "":
			action = o.action
		default:
			if a, ok := o.verbs[verb]; ok {
				action = a
			} else if a, ok := o.verbs["*"]; ok {
				action = a
			}
		}
	}
	return action == Allow, decided
}

// DeniedMessage is daprd's wording of a refused call. An unknown caller
// (no mTLS identity) has an empty id, as daprd prints its nil SPIFFE ID.
func DeniedMessage(c Caller, operation, verb string) string {
	id := ""
	if c != (Caller{}) {
		id = "spiffe://" + c.TrustDomain + "/ns/" + c.Namespace + "/" + c.AppID
	}
	return fmt.Sprintf("access control policy has denied access to id: %s operation: %s verb: %s", id, operation, verb)
}
