package blackbox

import (
	"testing"
)

// TestPubsubRouting: v2 routing rules (CEL over the event) with a default,
// declarative Subscriptions (v2alpha1 rules, v1alpha1 route, scopes), and
// the metadata API listing them as daprd does.
func TestPubsubRouting(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "pubsub.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: orders-ps
spec:
  type: pubsub.in-memory
  version: v1
`)
	writeFile(t, dir, "subs.yaml", `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: decl2
spec:
  pubsubname: orders-ps
  topic: decl
  routes:
    rules:
    - match: event.data.kind == "big"
      path: /decl-big
    default: /decl-default
---
apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata:
  name: decl1
spec:
  pubsubname: orders-ps
  topic: old
  route: /old
---
apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata:
  name: other-app
spec:
  pubsubname: orders-ps
  topic: notmine
  route: /notmine
scopes:
- someone-else
`)
	app := startSubApp(t, 0, `[{"pubsubname":"orders-ps","topic":"prog","routes":{"rules":[
		{"match":"event.type == \"widget\"","path":"/widgets"},
		{"match":"event.data.n > 10 && event.data.n < 100","path":"/mid"}],
		"default":"/other"}}]`, nil)
	s := startSidecar(t, Opts{AppID: "routeapp", AppPort: app.Port, Args: []string{"--resources-path", dir}})
	subs := s.waitSubscribed(t, 3)

	byTopic := map[string]map[string]any{}
	for _, sub := range subs {
		byTopic[sub["topic"].(string)] = sub
	}
	if p := byTopic["prog"]; p == nil || p["type"] != "PROGRAMMATIC" || len(p["rules"].([]any)) != 3 || p["pubsubname"] != "orders-ps" {
		t.Errorf("metadata programmatic subscription: %v", p)
	} else if r := p["rules"].([]any)[2].(map[string]any); r["path"] != "/other" || r["match"] != nil {
		t.Errorf("default rule listed as %v", r)
	}
	if d := byTopic["decl"]; d == nil || d["type"] != "DECLARATIVE" {
		t.Errorf("metadata declarative subscription: %v", d)
	}
	if byTopic["notmine"] != nil {
		t.Errorf("a Subscription scoped to another app was applied: %v", byTopic["notmine"])
	}

	s.publish(t, "orders-ps", "prog?metadata.cloudevent.type=widget", `{"n":1}`, "Content-Type", "application/json")
	s.publish(t, "orders-ps", "prog", `{"n":50}`, "Content-Type", "application/json")
	s.publish(t, "orders-ps", "prog", `{"n":500}`, "Content-Type", "application/json")
	s.publish(t, "orders-ps", "decl", `{"kind":"big"}`, "Content-Type", "application/json")
	s.publish(t, "orders-ps", "decl", `{"kind":"small"}`, "Content-Type", "application/json")
	s.publish(t, "orders-ps", "old", `hello`)

	for path, n := range map[string]int{"/widgets": 1, "/mid": 1, "/other": 1, "/decl-big": 1, "/decl-default": 1, "/old": 1} {
		got := app.waitFor(path, n)
		if len(got) != n {
			t.Errorf("%s: %d deliveries, want %d", path, len(got), n)
		}
	}
	if d := app.deliveries("/mid")[0]; d.Event["data"].(map[string]any)["n"] != float64(50) {
		t.Errorf("/mid got %s", d.Body)
	}
}
