package resources

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// testOpts are fixed options so tests do not depend on the environment.
func testOpts(env map[string]string) Options {
	return Options{AppID: "myapp", Getenv: func(k string) string { return env[k] }}
}

// writeDir writes files (name → content) into a new directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loadErr(t *testing.T, files map[string]string) (*Set, error) {
	t.Helper()
	dir := writeDir(t, files)
	set, err := LoadWith([]string{dir}, testOpts(nil))
	if err != nil {
		// Make messages independent of the temporary directory.
		return nil, errors.New(strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))
	}
	return set, nil
}

func loadOne(t *testing.T, doc string) *Set {
	t.Helper()
	set, err := loadErr(t, map[string]string{"c.yaml": doc})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// The Component formats from Dapr's documentation load unchanged.
const docsStateRedis = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: <NAME>
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: <HOST>
  - name: redisPassword # Optional.
    value: <PASSWORD>
  - name: useEntraID
    value: <bool> # Optional. Allowed: true, false.
  - name: enableTLS
    value: <bool> # Optional. Allowed: true, false.
  - name: clientCert
    value: # Optional
  - name: clientKey
    value: # Optional    
  - name: maxRetries
    value: # Optional
  - name: ttlInSeconds
    value: <int> # Optional
  - name: queryIndexes
    value: <string> # Optional
  # Uncomment below for having Redis as the actor state store (optional)
  #- name: actorStateStore
  #  value: "true"
`

const docsPubsubRedis = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: redis-pubsub
spec:
  type: pubsub.redis
  version: v1
  metadata:
  - name: redisHost
    value: localhost:6379
  - name: redisPassword
    value: "KeFg23!"
  - name: consumerID
    value: "channel1"
  - name: useEntraID
    value: "true"
  - name: enableTLS
    value: "false"
`

// What "dapr init" writes to ~/.dapr/components/statestore.yaml.
const daprInitStatestore = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: localhost:6379
  - name: redisPassword
    value: ""
  - name: actorStateStore
    value: "true"
`

func TestDocsExamplesLoadUnchanged(t *testing.T) {
	set, err := loadErr(t, map[string]string{
		"a-state.yaml":      docsStateRedis,
		"b-pubsub.yaml":     docsPubsubRedis,
		"c-statestore.yaml": daprInitStatestore,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Components) != 3 {
		t.Fatalf("got %d components", len(set.Components))
	}
	state, ps, init := set.Components[0], set.Components[1], set.Components[2]

	if state.Name != "<NAME>" || state.Type != "state.redis" || state.Version != "v1" || state.Category() != "state" {
		t.Fatalf("state: %+v", state)
	}
	wantState := map[string]string{
		"redisHost": "<HOST>", "redisPassword": "<PASSWORD>", "useEntraID": "<bool>", "enableTLS": "<bool>",
		"clientCert": "", "clientKey": "", "maxRetries": "", "ttlInSeconds": "<int>", "queryIndexes": "<string>",
	}
	if got := state.Meta(); !mapsEqual(got, wantState) {
		t.Fatalf("state meta: %v", got)
	}
	if state.File != "a-state.yaml" && !strings.HasSuffix(state.File, "a-state.yaml") {
		t.Fatalf("file %q", state.File)
	}
	if state.Line != 6 {
		t.Fatalf("state line %d, want 6 (spec.type)", state.Line)
	}

	wantPS := map[string]string{
		"redisHost": "localhost:6379", "redisPassword": "KeFg23!", "consumerID": "channel1",
		"useEntraID": "true", "enableTLS": "false",
	}
	if ps.Name != "redis-pubsub" || ps.Category() != "pubsub" || !mapsEqual(ps.Meta(), wantPS) {
		t.Fatalf("pubsub: %+v", ps)
	}
	if v, _ := init.Lookup("actorstatestore"); v != "true" {
		t.Fatalf("actorStateStore: %q", v)
	}
	if init.InitTimeout != DefaultInitTimeout || init.IgnoreErrors || init.SecretStore != "" {
		t.Fatalf("defaults: %+v", init)
	}
	if len(set.Warnings) != 0 || len(set.Skipped) != 0 {
		t.Fatalf("warnings %v skipped %v", set.Warnings, set.Skipped)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestMultiDocumentFilesAndOrder(t *testing.T) {
	dir1 := writeDir(t, map[string]string{
		"b.yaml": `# leading comment
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: second
spec:
  type: state.in-memory
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: sub
spec:
  pubsubname: pubsub
  topic: orders
  routes:
    default: /orders
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: third
spec:
  type: pubsub.in-memory
---
`,
		"a.yml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: first
spec:
  type: lock.redis
`,
		"C.YAML": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: upper
spec:
  type: bindings.cron
`,
	})
	dir2 := writeDir(t, map[string]string{"z.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: fromdir2
spec:
  type: secretstores.local.env
`})
	set, err := LoadWith([]string{dir2, dir1}, testOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range set.Components {
		names = append(names, c.Name)
	}
	// Directory order first, then file names (byte order: "C.YAML" < "a.yml"), then documents.
	want := []string{"fromdir2", "upper", "first", "second", "third"}
	if !slices.Equal(names, want) {
		t.Fatalf("order %v, want %v", names, want)
	}
	if len(set.Subscriptions) != 1 || set.Subscriptions[0].Line != 10 {
		t.Fatalf("subscriptions %+v", set.Subscriptions)
	}
	if set.Components[4].Line != 25 {
		t.Fatalf("third component line %d, want 25", set.Components[4].Line)
	}
}

func TestSecretKeyRefAndAuth(t *testing.T) {
	set := loadOne(t, `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  metadata:
  - name: redisHost
    value: localhost:6379
  - name: redisPassword
    secretKeyRef:
      name: redis-secret
      key: password
  - name: other
    secretKeyRef:
      name: whole
auth:
  secretStore: localsecretstore
`)
	c := set.Components[0]
	if c.SecretStore != "localsecretstore" {
		t.Fatalf("secret store %q", c.SecretStore)
	}
	pw := c.Metadata[1]
	if pw.SecretKeyRef == nil || pw.SecretKeyRef.Name != "redis-secret" || pw.SecretKeyRef.SecretKey() != "password" || pw.Value != "" || pw.Line != 10 {
		t.Fatalf("redisPassword %+v", pw)
	}
	if ref := c.Metadata[2].SecretKeyRef; ref == nil || ref.SecretKey() != "whole" {
		t.Fatalf("key defaults to name: %+v", ref)
	}
	if c.Metadata[0].SecretKeyRef != nil {
		t.Fatal("plain value has a secret ref")
	}
}

func TestEnvRef(t *testing.T) {
	doc := `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: c
spec:
  type: state.redis
  metadata:
  - name: fromEnv
    envRef: REDIS_HOST
  - name: valueWins
    value: literal
    envRef: REDIS_HOST
  - name: denied
    envRef: DAPR_API_TOKEN
  - name: token
    envRef: app_api_token
`
	dir := writeDir(t, map[string]string{"c.yaml": doc})
	env := map[string]string{"REDIS_HOST": "redis:6379", "DAPR_API_TOKEN": "secret", "app_api_token": "x"}
	set, err := LoadWith([]string{dir}, testOpts(env))
	if err != nil {
		t.Fatal(err)
	}
	c := set.Components[0]
	want := map[string]string{"fromEnv": "redis:6379", "valueWins": "literal", "denied": "", "token": ""}
	if !mapsEqual(c.Meta(), want) {
		t.Fatalf("meta %v", c.Meta())
	}
	if c.Metadata[0].EnvRef != "REDIS_HOST" {
		t.Fatalf("envRef not recorded: %+v", c.Metadata[0])
	}
	if len(set.Warnings) != 2 || !strings.Contains(set.Warnings[0], "c.yaml:13: spec.metadata denied: envRef DAPR_API_TOKEN is not an allowed") {
		t.Fatalf("warnings %q", set.Warnings)
	}

	// DAPR_ENV_KEYS turns the environment into an allow list.
	env["DAPR_ENV_KEYS"] = "OTHER REDIS_HOSTNAME"
	set, err = LoadWith([]string{dir}, testOpts(env))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := set.Components[0].Lookup("fromEnv"); v != "" {
		t.Fatalf("REDIS_HOST is not in DAPR_ENV_KEYS, got %q", v)
	}
	env["DAPR_ENV_KEYS"] = "OTHER REDIS_HOST"
	set, _ = LoadWith([]string{dir}, testOpts(env))
	if v, _ := set.Components[0].Lookup("fromEnv"); v != "redis:6379" {
		t.Fatalf("REDIS_HOST is in DAPR_ENV_KEYS, got %q", v)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestPlaceholders(t *testing.T) {
	doc := `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: c
spec:
  type: pubsub.redis
  metadata:
  - name: consumerID
    value: "{appID}-{uuid}-{uuid}"
  - name: ns
    value: "{namespace}"
  - name: pod
    value: "{podName}"
`
	dir := writeDir(t, map[string]string{"c.yaml": doc})
	opts := testOpts(nil)
	opts.Namespace, opts.PodName = "prod", "pod-1"
	set, err := LoadWith([]string{dir}, opts)
	if err != nil {
		t.Fatal(err)
	}
	c := set.Components[0]
	id, _ := c.Lookup("consumerID")
	parts := strings.SplitN(id, "-", 2)
	if parts[0] != "myapp" {
		t.Fatalf("consumerID %q", id)
	}
	u1, u2 := parts[1][:36], parts[1][37:]
	if !uuidRE.MatchString(u1) || !uuidRE.MatchString(u2) || u1 == u2 {
		t.Fatalf("each {uuid} must be a new v4 UUID: %q", id)
	}
	if v, _ := c.Lookup("ns"); v != "prod.myapp" {
		t.Fatalf("{namespace} = %q", v)
	}
	if v, _ := c.Lookup("pod"); v != "pod-1" {
		t.Fatalf("{podName} = %q", v)
	}

	// Without POD_NAME, {podName} fails the component, as in daprd…
	_, err = loadErr(t, map[string]string{"c.yaml": doc})
	if err == nil || err.Error() != "resources: c.yaml:12: property pod refers to {podName} but podName is not set" {
		t.Fatalf("got %v", err)
	}
	// …unless it ignores errors.
	set, err = loadErr(t, map[string]string{"c.yaml": strings.Replace(doc, "pubsub.redis", "pubsub.redis\n  ignoreErrors: true", 1)})
	if err != nil || len(set.Components) != 0 || len(set.Skipped) != 1 || !strings.Contains(set.Skipped[0], "ignoreErrors") {
		t.Fatalf("err %v set %+v", err, set)
	}
	// Without NAMESPACE, {namespace} is ".appID", as in daprd.
	set = loadOne(t, strings.Replace(doc, "{podName}", "x", 1))
	if v, _ := set.Components[0].Lookup("ns"); v != ".myapp" {
		t.Fatalf("{namespace} without NAMESPACE = %q", v)
	}
}

func TestScopes(t *testing.T) {
	set, err := loadErr(t, map[string]string{"s.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: mine
spec:
  type: state.in-memory
scopes:
- myapp
- other
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: theirs
spec:
  type: state.in-memory
scopes: [other]
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: sub
spec:
  pubsubname: p
  topic: t
scopes: [other]
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: res
scopes: [other]
---
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata:
  name: ep
spec:
  baseUrl: http://x
scopes: [other]
`})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Components) != 1 || set.Components[0].Name != "mine" || !slices.Equal(set.Components[0].Scopes, []string{"myapp", "other"}) {
		t.Fatalf("components %+v", set.Components)
	}
	if len(set.Subscriptions)+len(set.Resiliencies)+len(set.HTTPEndpoints) != 0 {
		t.Fatalf("out-of-scope resources loaded: %+v", set)
	}
	want := `s.yaml:11: Component theirs skipped: app "myapp" is not in its scopes [other]`
	if len(set.Skipped) != 4 || !strings.HasSuffix(set.Skipped[0], want) {
		t.Fatalf("skipped %q", set.Skipped)
	}
}

func TestNamespace(t *testing.T) {
	doc := `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: c
  namespace: team-a
spec:
  type: state.in-memory
`
	// Standalone without NAMESPACE: the namespace is ignored.
	set := loadOne(t, doc)
	if len(set.Components) != 1 || set.Components[0].Namespace != "team-a" {
		t.Fatalf("%+v", set)
	}
	dir := writeDir(t, map[string]string{"c.yaml": doc})
	opts := testOpts(nil)
	opts.Namespace = "team-b"
	set, err := LoadWith([]string{dir}, opts)
	if err != nil || len(set.Components) != 0 || len(set.Skipped) != 1 {
		t.Fatalf("err %v set %+v", err, set)
	}
	opts.Namespace = "team-a"
	if set, _ = LoadWith([]string{dir}, opts); len(set.Components) != 1 {
		t.Fatalf("same namespace must load: %+v", set)
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	comp := func(body string) string {
		return "apiVersion: dapr.io/v1alpha1\nkind: Component\n" + body
	}
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{
			"broken YAML",
			map[string]string{"redis.yaml": comp("metadata:\n  name: x\nspec:\n  type: state.redis\n  metadata:\n  - name: a\n    value: [unclosed\n")},
			"resources: redis.yaml:9: did not find expected ',' or ']'",
		},
		{
			"tab indentation",
			map[string]string{"redis.yaml": comp("metadata:\n\tname: x\n")},
			"resources: redis.yaml:4: found character that cannot start any token",
		},
		{
			"missing metadata.name",
			map[string]string{"redis.yaml": comp("metadata:\n  namespace: x\nspec:\n  type: state.redis\n")},
			"resources: redis.yaml:3: metadata.name is missing",
		},
		{
			"missing metadata",
			map[string]string{"redis.yaml": comp("spec:\n  type: state.redis\n")},
			"resources: redis.yaml:1: metadata.name is missing",
		},
		{
			"missing spec.type",
			map[string]string{"redis.yaml": comp("metadata:\n  name: statestore\n\nspec:\n  version: v1\n  metadata:\n  - name: redisHost\n    value: localhost\n")},
			"resources: redis.yaml:6: spec.type is missing",
		},
		{
			"missing spec",
			map[string]string{"redis.yaml": comp("metadata:\n  name: statestore\n")},
			"resources: redis.yaml:1: spec.type is missing",
		},
		{
			"duplicate name across files",
			map[string]string{
				"a.yaml": comp("metadata:\n  name: statestore\nspec:\n  type: state.redis\n"),
				"b.yaml": "# second\n" + comp("metadata:\n  name: statestore\nspec:\n  type: state.in-memory\n"),
			},
			"resources: b.yaml:2: duplicate Component name \"statestore\", first defined at a.yaml:1",
		},
		{
			"metadata item without name",
			map[string]string{"redis.yaml": comp("metadata:\n  name: s\nspec:\n  type: state.redis\n  metadata:\n  - name: redisHost\n    value: h\n  - value: orphan\n")},
			"resources: redis.yaml:10: spec.metadata[1]: name is missing",
		},
		{
			"metadata item not a mapping",
			map[string]string{"redis.yaml": comp("metadata:\n  name: s\nspec:\n  type: state.redis\n  metadata:\n  - redisHost\n")},
			"resources: redis.yaml:8: a metadata item must be a mapping with name and value",
		},
		{
			"scopes of the wrong type",
			map[string]string{"redis.yaml": comp("metadata:\n  name: s\nspec:\n  type: state.redis\nscopes: myapp\n")},
			"resources: redis.yaml:7: cannot unmarshal !!str `myapp` into []string",
		},
		{
			"invalid name",
			map[string]string{"redis.yaml": comp("metadata:\n  name: a/b\nspec:\n  type: state.redis\n")},
			"resources: redis.yaml:4: invalid Component name \"a/b\": may not contain '/' or '%'",
		},
		{
			"document not a mapping",
			map[string]string{"redis.yaml": "- just\n- a list\n"},
			"resources: redis.yaml:1: a resource document must be a YAML mapping",
		},
		{
			"HTTPEndpoint without baseUrl",
			map[string]string{"ep.yaml": "apiVersion: dapr.io/v1alpha1\nkind: HTTPEndpoint\nmetadata:\n  name: ep\nspec:\n  headers: []\n"},
			"resources: ep.yaml:5: spec.baseUrl is missing",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadErr(t, tc.files)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Fatalf("got  %q\nwant %q", err.Error(), tc.want)
			}
		})
	}
}

func TestErrorsAreCollectedAndTyped(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"a.yaml": "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: a\n",
		"b.yaml": "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: b\n",
	})
	_, err := LoadWith([]string{dir}, testOpts(nil))
	var e *Error
	if !errors.As(err, &e) || e.File != filepath.Join(dir, "a.yaml") || e.Line != 1 {
		t.Fatalf("got %#v", err)
	}
	if n := strings.Count(err.Error(), "spec.type is missing"); n != 2 {
		t.Fatalf("want both problems reported, got %q", err)
	}
}

func TestUnknownKindsAndNonYAMLFiles(t *testing.T) {
	set, err := loadErr(t, map[string]string{
		"README.md":  "# not yaml: [",
		"notes.txt":  "kind: Component",
		"sub/x.yaml": "this: [is not read",
		"k8s.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  - not a mapping, but not ours to judge
---
apiVersion: dapr.io/v1alpha1
kind: MCPServer
metadata:
  name: m
---
apiVersion: dapr.io/v2
kind: Component
metadata:
  name: wrongversion
spec:
  type: state.redis
---
foo: bar
`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Components) != 0 {
		t.Fatalf("components %+v", set.Components)
	}
	joined := strings.Join(set.Warnings, "\n")
	for _, want := range []string{
		"README.md: not a .yaml or .yml file, not loaded",
		"notes.txt: not a .yaml or .yml file",
		"k8s.yaml:1: kind Deployment is not supported, skipped",
		"k8s.yaml:6: kind MCPServer is not supported, skipped",
		`k8s.yaml:11: Component with apiVersion "dapr.io/v2" is not supported`,
		"k8s.yaml:18: document has no kind, skipped",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing warning %q in\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "sub") {
		t.Errorf("subdirectories are not read: %s", joined)
	}
}

func TestMissingDirectoryIsAnError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := LoadWith([]string{missing}, testOpts(nil))
	if err == nil || !strings.Contains(err.Error(), "resources: "+missing+": cannot read resources directory") {
		t.Fatalf("got %v", err)
	}
	set, err := LoadWith(nil, testOpts(nil))
	if err != nil || len(set.Components) != 0 {
		t.Fatalf("no paths: %v %+v", err, set)
	}
	// A file given as a directory is an error too.
	f := filepath.Join(t.TempDir(), "file.yaml")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadWith([]string{f}, testOpts(nil)); err == nil {
		t.Fatal("a file is not a resources directory")
	}
}

func TestSubscriptionsV1AndV2(t *testing.T) {
	set := loadOne(t, `apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata:
  name: order-v1
spec:
  topic: orders
  route: /checkout
  pubsubname: pubsub
  deadLetterTopic: poison
  bulkSubscribe:
    enabled: true
    maxMessagesCount: 100
    maxAwaitDurationMs: 40
  metadata:
    rawPayload: true
scopes:
- myapp
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: order-v2
spec:
  pubsubName: pubsub
  topic: inventory
  routes:
    rules:
      - match: event.type == "widget"
        path: /widgets
      - match: event.type == "gadget"
        path: /gadgets
    default: /products
`)
	if len(set.Subscriptions) != 2 {
		t.Fatalf("%+v", set.Subscriptions)
	}
	v1, v2 := set.Subscriptions[0], set.Subscriptions[1]
	if v1.Name != "order-v1" || v1.APIVersion != "dapr.io/v1alpha1" || v1.PubsubName != "pubsub" || v1.Topic != "orders" ||
		v1.Routes.Default != "/checkout" || len(v1.Routes.Rules) != 0 || v1.DeadLetterTopic != "poison" ||
		v1.BulkSubscribe != (BulkSubscribe{Enabled: true, MaxMessagesCount: 100, MaxAwaitDurationMs: 40}) ||
		v1.Metadata["rawPayload"] != "true" || !slices.Equal(v1.Scopes, []string{"myapp"}) {
		t.Fatalf("v1: %+v", v1)
	}
	// pubsubName matches pubsubname ignoring case, as daprd's JSON decoding does.
	wantRules := []Rule{{Match: `event.type == "widget"`, Path: "/widgets"}, {Match: `event.type == "gadget"`, Path: "/gadgets"}}
	if v2.PubsubName != "pubsub" || v2.Topic != "inventory" || v2.Routes.Default != "/products" || !slices.Equal(v2.Routes.Rules, wantRules) {
		t.Fatalf("v2: %+v", v2)
	}
}

func TestSubscriptionsMayShareNames(t *testing.T) {
	sub := "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: s\nspec:\n  pubsubname: p\n  topic: t\n"
	set, err := loadErr(t, map[string]string{"a.yaml": sub, "b.yaml": sub})
	if err != nil || len(set.Subscriptions) != 2 {
		t.Fatalf("daprd does not check subscription names: %v", err)
	}
}

func TestComponentFieldsAndLookup(t *testing.T) {
	set := loadOne(t, `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: c
spec:
  type: bindings.kafka
  version: v2
  ignoreErrors: yes
  initTimeout: 1m30s
  metadata:
  - name: Brokers
    value: a:9092
  - name: brokers
    value: b:9092
  - Name: topics
    Value: t1
`)
	c := set.Components[0]
	if c.Version != "v2" || !c.IgnoreErrors || c.InitTimeout != 90*time.Second || c.Category() != "bindings" {
		t.Fatalf("%+v", c)
	}
	if v, ok := c.Lookup("brokers"); !ok || v != "b:9092" {
		t.Fatalf("exact match wins: %q", v)
	}
	if v, ok := c.Lookup("BROKERS"); !ok || v != "b:9092" {
		t.Fatalf("case-insensitive lookup, last wins: %q", v)
	}
	if v, ok := c.Lookup("TOPICS"); !ok || v != "t1" {
		t.Fatalf("item keys match ignoring case: %q %v", v, ok)
	}
	if _, ok := c.Lookup("missing"); ok {
		t.Fatal("found a missing name")
	}
	if c.String() != "c (bindings.kafka/v2)" {
		t.Fatal(c.String())
	}
}

func TestInitTimeoutInvalidFallsBack(t *testing.T) {
	set := loadOne(t, "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: c\nspec:\n  type: state.redis\n  initTimeout: soon\n")
	if set.Components[0].InitTimeout != DefaultInitTimeout || len(set.Warnings) != 1 || !strings.Contains(set.Warnings[0], "c.yaml:7") {
		t.Fatalf("%+v %q", set.Components[0], set.Warnings)
	}
}

func TestCategory(t *testing.T) {
	for typ, want := range map[string]string{
		"state.redis": "state", "pubsub.kafka": "pubsub", "bindings.cron": "bindings",
		"secretstores.local.file": "secretstores", "configuration.redis": "configuration",
		"lock.redis": "lock", "middleware.http.bearer": "middleware", "crypto.dapr.jwks": "crypto",
		"conversation.openai": "conversation", "statestore.redis": "", "nameresolution.mdns": "", "state": "",
	} {
		c := Component{Type: typ}
		if got := c.Category(); got != want {
			t.Errorf("%s: got %q, want %q", typ, got, want)
		}
	}
}

func TestResiliencyAndHTTPEndpoint(t *testing.T) {
	set := loadOne(t, `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: myresiliency
spec:
  policies:
    timeouts:
      general: 5s
    retries:
      retryForever:
        policy: exponential
        maxInterval: 15s
        maxRetries: -1
        matching:
          httpStatusCodes: 500-599
    circuitBreakers:
      simpleCB:
        maxRequests: 1
        timeout: 30s
        trip: consecutiveFailures >= 5
  targets:
    apps:
      appB:
        timeout: general
        retry: retryForever
        circuitBreaker: simpleCB
    components:
      statestore1:
        outbound:
          retry: retryForever
---
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata:
  name: github
spec:
  baseUrl: https://api.github.com
  headers:
  - name: Authorization
    secretKeyRef:
      name: token
  - name: X-Retries
    value: 3
  clientTLS:
    rootCA:
      value: |
        -----BEGIN CERTIFICATE-----
    privateKey:
      secretKeyRef:
        name: key
    renegotiation: OnceAsClient
auth:
  secretStore: local
`)
	r := set.Resiliencies[0]
	rf := r.Spec.Policies.Retries["retryForever"]
	if r.Name != "myresiliency" || r.Spec.Policies.Timeouts["general"] != "5s" || rf.Policy != "exponential" ||
		rf.MaxRetries == nil || *rf.MaxRetries != -1 || rf.Matching.HTTPStatusCodes != "500-599" ||
		r.Spec.Policies.CircuitBreakers["simpleCB"].Trip != "consecutiveFailures >= 5" ||
		r.Spec.Targets.Apps["appB"].CircuitBreaker != "simpleCB" ||
		r.Spec.Targets.Components["statestore1"].Outbound.Retry != "retryForever" {
		t.Fatalf("resiliency %+v", r)
	}
	e := set.HTTPEndpoints[0]
	if e.Name != "github" || e.BaseURL != "https://api.github.com" || e.SecretStore != "local" || len(e.Headers) != 2 ||
		e.Headers[0].SecretKeyRef == nil || e.Headers[1].Value != "3" {
		t.Fatalf("endpoint %+v", e)
	}
	tls := e.ClientTLS
	if tls == nil || tls.RootCA.Value != "-----BEGIN CERTIFICATE-----\n" || tls.PrivateKey.SecretKeyRef.Name != "key" ||
		tls.Certificate != nil || tls.Renegotiation != "OnceAsClient" {
		t.Fatalf("tls %+v", tls)
	}
}

func TestConfigurationResource(t *testing.T) {
	set := loadOne(t, `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: appconfig
spec:
  features:
  - name: HotReload
    enabled: true
`)
	if len(set.Configurations) != 1 || set.Configurations[0].Name != "appconfig" || !set.Configurations[0].IsFeatureEnabled("HotReload") {
		t.Fatalf("%+v", set.Configurations)
	}
}
