package pubsub

import (
	"log/slog"
	"testing"

	"github.com/skiffd/skiff/blocks/resources"
)

func TestParseAppSubscriptions(t *testing.T) {
	subs, err := ParseAppSubscriptions([]byte(`[
		{"pubsubname":"ps","topic":"a","route":"/a","metadata":{"rawPayload":"true"},"deadLetterTopic":"dl"},
		{"pubsubname":"ps","topic":"b","route":"/ignored","routes":{"rules":[{"match":"event.type == 'x'","path":"/x"}],"default":"/d"}},
		{"pubsubname":"ps","topic":"c","routes":{"rules":[{"match":"","path":"/always"}]}},
		{"pubsubname":"ps","topic":"d","bulkSubscribe":{"enabled":true,"maxMessagesCount":5}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 4 {
		t.Fatalf("%d subscriptions", len(subs))
	}
	if s := subs[0]; len(s.Rules) != 1 || s.Rules[0].Path != "/a" || s.DeadLetterTopic != "dl" || s.Metadata["rawPayload"] != "true" || s.Type != TypeProgrammatic {
		t.Errorf("v1: %+v", s)
	}
	if s := subs[1]; len(s.Rules) != 2 || s.Rules[0].Path != "/x" || s.Rules[1].Path != "/d" || !s.NeedsEvent() {
		t.Errorf("v2: %+v", s)
	}
	if p, err := subs[1].Route(map[string]any{"type": "x"}); err != nil || p != "/x" {
		t.Errorf("route x: %q %v", p, err)
	}
	if p, err := subs[1].Route(map[string]any{"type": "y"}); err != nil || p != "/d" {
		t.Errorf("route default: %q %v", p, err)
	}
	if p, _ := subs[2].Route(nil); p != "/always" || subs[2].NeedsEvent() {
		t.Errorf("empty match: %q", p)
	}
	if s := subs[3]; !s.Bulk.Enabled || s.Bulk.MaxMessagesCount != 5 || len(s.Rules) != 0 {
		t.Errorf("bulk: %+v", s)
	}
	for _, bad := range []string{`{`, `{"topic":"a"}`, `[{"routes":{"rules":[{"match":"event.type ==","path":"/x"}]}}]`} {
		if _, err := ParseAppSubscriptions([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestRouteErrors(t *testing.T) {
	s, err := ParseAppSubscriptions([]byte(`[{"topic":"t","routes":{"rules":[{"match":"event.data","path":"/x"}]}}]`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s[0].Route(map[string]any{"data": "str"}); err == nil {
		t.Errorf("a non-boolean match result is accepted")
	}
	if _, err := s[0].Route(map[string]any{}); err == nil {
		t.Errorf("a missing attribute is not an error")
	}
	if p, err := s[0].Route(map[string]any{"data": false}); err != nil || p != "" {
		t.Errorf("no match: %q %v", p, err)
	}
}

func TestFromResource(t *testing.T) {
	s, err := FromResource(&resources.Subscription{PubsubName: "ps", Topic: "t", DeadLetterTopic: "dl",
		Routes: resources.Routes{Rules: []resources.Rule{{Match: `event.data.n > 1`, Path: "/big"}}, Default: "/small"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != TypeDeclarative || len(s.Rules) != 2 {
		t.Fatalf("%+v", s)
	}
	if p, _ := s.Route(map[string]any{"data": map[string]any{"n": 2.0}}); p != "/big" {
		t.Errorf("route %q", p)
	}
	if _, err := FromResource(&resources.Subscription{Routes: resources.Routes{Rules: []resources.Rule{{Match: "((", Path: "/x"}}}}); err == nil {
		t.Errorf("bad CEL accepted")
	}
}

func TestScopedTopicsAndAllowed(t *testing.T) {
	if got := scopedTopics("app1=a,b,a; app2=c;app3=", "app1"); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("scoped %v", got)
	}
	// "app3=" lists the empty topic only: nothing real is allowed (daprd).
	if got := scopedTopics("app3=", "app3"); len(got) != 1 || got[0] != "" {
		t.Errorf("app3= gives %q", got)
	}
	if c := (&Component{pubScoped: scopedTopics("app3=", "app3")}); c.PublishAllowed("t") {
		t.Errorf("app3= allows t")
	}
	c := &Component{allowed: []string{"x", "y"}, protected: []string{"y"}, pubScoped: []string{"y"}}
	if !c.PublishAllowed("y") || c.PublishAllowed("x") {
		t.Errorf("scopes must win over allowed/protected topics")
	}
	c = &Component{allowed: []string{"x", "y"}, protected: []string{"y"}}
	if !c.PublishAllowed("x") || c.PublishAllowed("y") || c.PublishAllowed("z") {
		t.Errorf("allowed/protected")
	}
}

func TestVerdict(t *testing.T) {
	d := &deliverer{a: &API{log: discardLog()}, s: &Subscription{}}
	for _, c := range []struct {
		status int
		body   string
		want   outcome
	}{
		{200, "", delivered}, {204, "", delivered}, {200, `{"status":"SUCCESS"}`, delivered}, {200, `{"status":"success"}`, delivered},
		{200, `{"status":""}`, delivered}, {200, `not json`, delivered}, {200, `{"status":"RETRY"}`, retry},
		{200, `{"status":"DROP"}`, dropped}, {200, `{"status":"WHAT"}`, retry}, {404, "", notFound},
		{500, "", retry}, {503, `{"status":"SUCCESS"}`, retry}, {302, "", retry},
	} {
		if got := verdict(c.status, []byte(c.body), d); got != c.want {
			t.Errorf("%d %q: %v, want %v", c.status, c.body, got, c.want)
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
