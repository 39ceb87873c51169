package acl

import (
	"strings"
	"testing"

	"github.com/skiffd/skiff/blocks/resources"
)

func spec() *resources.AccessControlSpec {
	return &resources.AccessControlSpec{
		DefaultAction: "deny",
		TrustDomain:   "public",
		Policies: []resources.AppPolicySpec{
			{AppID: "app1", DefaultAction: "allow", TrustDomain: "public", Namespace: "default", Operations: []resources.AppOperation{
				{Name: "/op1", HTTPVerb: []string{"POST", "GET"}, Action: "deny"},
				{Name: "/op2/*", HTTPVerb: []string{"*"}, Action: "deny"},
				{Name: "/op2/open", HTTPVerb: []string{"*"}, Action: "allow"},
				{Name: "/op3/**", HTTPVerb: []string{"PUT"}, Action: "deny"},
				{Name: "op4/a*/x", HTTPVerb: []string{"GET"}, Action: "deny"},
			}},
			{AppID: "app2", DefaultAction: "deny", TrustDomain: "domain1", Namespace: "ns1", Operations: []resources.AppOperation{
				{Name: "/Orders/*", HTTPVerb: []string{"GET"}, Action: "allow"},
				{Name: "/grpc", Action: "allow"},
			}},
			{AppID: "app3", TrustDomain: "public", Namespace: "default", Operations: []resources.AppOperation{
				{Name: "/only", HTTPVerb: []string{"POST"}, Action: "allow"},
			}},
		},
	}
}

func TestMatrix(t *testing.T) {
	l, err := Compile(spec())
	if err != nil {
		t.Fatal(err)
	}
	app1 := Caller{AppID: "app1", Namespace: "default", TrustDomain: "public"}
	app2 := Caller{AppID: "app2", Namespace: "ns1", TrustDomain: "domain1"}
	app3 := Caller{AppID: "app3", Namespace: "default", TrustDomain: "public"}
	for _, c := range []struct {
		name       string
		caller     Caller
		op, verb   string
		want       bool
		wantPolicy string
	}{
		{"unknown caller: global default", Caller{}, "/op1", "GET", false, PolicyGlobal},
		{"app without policy: global default", Caller{AppID: "other", Namespace: "default", TrustDomain: "public"}, "/x", "GET", false, PolicyGlobal},
		{"wrong trust domain: global default", Caller{AppID: "app1", Namespace: "default", TrustDomain: "evil"}, "/x", "GET", false, PolicyGlobal},
		{"wrong namespace: global default", Caller{AppID: "app1", Namespace: "other", TrustDomain: "public"}, "/x", "GET", false, PolicyGlobal},
		{"app default allow", app1, "/elsewhere", "GET", true, PolicyApp},
		{"operation verb deny", app1, "/op1", "POST", false, PolicyApp},
		{"operation, verb not listed: app default", app1, "/op1", "PUT", true, PolicyApp},
		{"case-insensitive path", app1, "/OP1", "GET", false, PolicyApp},
		{"path cleaned", app1, "//op1/", "GET", false, PolicyApp},
		{"dot segments cleaned", app1, "/x/../op1", "GET", false, PolicyApp},
		{"one-segment wildcard", app1, "/op2/a", "DELETE", false, PolicyApp},
		{"exact beats wildcard", app1, "/op2/open", "GET", true, PolicyApp},
		{"* is one segment only", app1, "/op2/a/b", "GET", true, PolicyApp},
		{"** matches several segments", app1, "/op3/a/b/c", "PUT", false, PolicyApp},
		{"** verb not listed", app1, "/op3/a", "GET", true, PolicyApp},
		{"** needs a segment", app1, "/op3", "PUT", true, PolicyApp},
		{"glob inside a segment", app1, "/op4/abc/x", "GET", false, PolicyApp},
		{"glob inside a segment, no match", app1, "/op4/bc/x", "GET", true, PolicyApp},
		{"leading slash optional in spec", app1, "op4/a/x", "GET", false, PolicyApp},
		{"app default deny", app2, "/other", "GET", false, PolicyApp},
		{"pattern lower-cased", app2, "/orders/1", "GET", true, PolicyApp},
		{"verb is case-sensitive as in daprd", app2, "/orders/1", "get", false, PolicyApp},
		{"no verb (gRPC): operation action", app2, "/grpc", "", true, PolicyApp},
		{"no app default: global", app3, "/x", "GET", false, PolicyGlobal},
		{"no app default, operation allows", app3, "/only", "POST", true, PolicyGlobal},
	} {
		got, pol := l.Allowed(c.caller, c.op, c.verb)
		if got != c.want || pol != c.wantPolicy {
			t.Errorf("%s: Allowed(%+v, %q, %q) = %v %q, want %v %q", c.name, c.caller, c.op, c.verb, got, pol, c.want, c.wantPolicy)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"*", "abc", true}, {"a*", "abc", true}, {"a*", "ba", false},
		{"*c", "abc", true}, {"a*c", "abbbc", true}, {"a*c", "abcd", false}, {"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false}, {"[", "[", true}, {"a?", "ab", false},
	} {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func FuzzGlob(f *testing.F) {
	f.Add("a*b*c", "axxbyyc")
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 64 || len(s) > 256 {
			return
		}
		// Without '*' it is string equality.
		if !strings.Contains(p, "*") && globMatch(p, s) != (p == s) {
			t.Fatalf("globMatch(%q, %q)", p, s)
		}
		// A pattern matches itself with its stars removed.
		if !globMatch(p, strings.ReplaceAll(p, "*", "")) {
			t.Fatalf("globMatch(%q, itself without stars)", p)
		}
	})
}

func TestDefaults(t *testing.T) {
	if l, err := Compile(nil); l != nil || err != nil {
		t.Fatal("nil spec")
	}
	if l, err := Compile(&resources.AccessControlSpec{}); l != nil || err != nil {
		t.Fatal("empty spec")
	}
	var none *List
	if ok, _ := none.Allowed(Caller{AppID: "a"}, "/x", "GET"); !ok {
		t.Fatal("no list denies")
	}
	// daprd's default configuration: allow, trust domain public.
	l, err := Compile(resources.DefaultConfiguration().Spec.AccessControl)
	if err != nil || l.DefaultAction != Allow || l.TrustDomain != "public" {
		t.Fatalf("%+v %v", l, err)
	}
	// Policies without a global action: deny by default.
	s := spec()
	s.DefaultAction, s.TrustDomain = "", ""
	l, err = Compile(s)
	if err != nil || l.DefaultAction != Deny || l.TrustDomain != DefaultTrustDomain {
		t.Fatalf("%+v %v", l, err)
	}
}

func TestInvalid(t *testing.T) {
	s := spec()
	s.Policies[0].TrustDomain = ""
	s.Policies[1].Namespace = ""
	s.Policies = append(s.Policies, resources.AppPolicySpec{TrustDomain: "t", Namespace: "n"})
	_, err := Compile(s)
	want := "invalid access control spec. missing trustdomain for apps: [app1], missing namespace for apps: [app2], missing app name on at least one of the app policies: true"
	if err == nil || err.Error() != want {
		t.Fatalf("err %v", err)
	}
	for _, mod := range []func(*resources.AccessControlSpec){
		func(s *resources.AccessControlSpec) { s.DefaultAction = "maybe" },
		func(s *resources.AccessControlSpec) { s.Policies[0].DefaultAction = "maybe" },
		func(s *resources.AccessControlSpec) { s.Policies[0].Operations[0].Action = "maybe" },
		func(s *resources.AccessControlSpec) { s.Policies[0].Operations[0].Name = " " },
		func(s *resources.AccessControlSpec) { s.Policies[0].Operations[0].Name = "/a/**/b" },
	} {
		s := spec()
		mod(s)
		if _, err := Compile(s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	msg := DeniedMessage(Caller{AppID: "a", Namespace: "default", TrustDomain: "public"}, "/op", "GET")
	if !strings.Contains(msg, "spiffe://public/ns/default/a operation: /op verb: GET") {
		t.Fatal(msg)
	}
	if msg := DeniedMessage(Caller{}, "op", "POST"); msg != "access control policy has denied access to id:  operation: op verb: POST" {
		t.Fatal(msg)
	}
}
