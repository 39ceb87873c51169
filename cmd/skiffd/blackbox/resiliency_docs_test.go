package blackbox

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// docsResiliency is the "Complete example policy" of Dapr's resiliency
// overview (docs.dapr.io/operations/resiliency/resiliency-overview/), as a
// user would copy it.
const docsResiliency = `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: myresiliency
# similar to subscription and configuration specs, scopes lists the Dapr App IDs that this
# resiliency spec can be used by.
scopes:
  - app1
  - app2
spec:
  # policies is where timeouts, retries and circuit breaker policies are defined. 
  # each is given a name so they can be referred to from the targets section in the resiliency spec.
  policies:
    # timeouts are simple named durations.
    timeouts:
      general: 5s
      important: 60s
      largeResponse: 10s

    # retries are named templates for retry configurations and are instantiated for life of the operation.
    retries:
      pubsubRetry:
        policy: constant
        duration: 5s
        maxRetries: 10

      retryForever:
        policy: exponential
        maxInterval: 15s
        maxRetries: -1 # retry indefinitely

      important:
        policy: constant
        duration: 5s
        maxRetries: 30

      someOperation:
        policy: exponential
        maxInterval: 15s

      largeResponse:
        policy: constant
        duration: 5s
        maxRetries: 3

    # circuit breakers are automatically instantiated per component and app instance.
    # circuit breakers maintain counters that live as long as the Dapr sidecar is running. They are not persisted.
    circuitBreakers:
      simpleCB:
        maxRequests: 1
        timeout: 30s 
        trip: consecutiveFailures >= 5

      pubsubCB:
        maxRequests: 1
        interval: 8s
        timeout: 45s
        trip: consecutiveFailures > 8

  # targets are what named policies are applied to. Dapr supports 3 target types - apps, components and actors
  targets:
    apps:
      appB:
        timeout: general
        retry: important
        # circuit breakers for services are scoped app instance.
        # when a breaker is tripped, that route is removed from load balancing for the configured ` + "`timeout`" + ` duration.
        circuitBreaker: simpleCB

    actors:
      myActorType: # custom Actor Type Name
        timeout: general
        retry: important
        # circuit breakers for actors are scoped by type, id, or both.
        # when a breaker is tripped, that type or id is removed from the placement table for the configured ` + "`timeout`" + ` duration.
        circuitBreaker: simpleCB
        circuitBreakerScope: both ## 
        circuitBreakerCacheSize: 5000

    components:
      # for state stores, policies apply to saving and retrieving state.
      statestore1: # any component name -- happens to be a state store here
        outbound:
          timeout: general
          retry: retryForever
          # circuit breakers for components are scoped per component configuration/instance. For example myRediscomponent.
          # when this breaker is tripped, all interaction to that component is prevented for the configured ` + "`timeout`" + ` duration.
          circuitBreaker: simpleCB

      pubsub1: # any component name -- happens to be a pubsub broker here
        outbound:
          retry: pubsubRetry
          circuitBreaker: pubsubCB

      pubsub2: # any component name -- happens to be another pubsub broker here
        outbound:
          retry: pubsubRetry
          circuitBreaker: pubsubCB
        inbound: # inbound only applies to delivery from sidecar to app
          timeout: general
          retry: important
          circuitBreaker: pubsubCB
`

// The documentation's complete example loads (actors warned about once),
// its component policies apply to the components named in it, its scopes
// keep it from other app ids, and the resiliency metrics show it.
func TestResiliencyDocsExampleLoadsAndWorks(t *testing.T) {
	flaky := startFlakyApp(t, func(path string, n int, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			w.WriteHeader(503)
			return
		}
		_, _ = w.Write([]byte("done"))
	})
	comps := `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore1
spec:
  type: state.in-memory
  version: v1
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub1
spec:
  type: pubsub.in-memory
  version: v1
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: web
spec:
  type: bindings.http
  version: v1
  metadata:
  - name: url
    value: http://127.0.0.1:` + strconv.Itoa(flaky.Port) + `/
`
	// A second document gives the binding a quick retry, next to the
	// documentation's one (documents merge, as in daprd).
	extra := `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: extra
spec:
  policies:
    retries:
      quick:
        policy: constant
        duration: 20ms
        maxRetries: 5
  targets:
    components:
      web:
        outbound:
          retry: quick
`
	dir := resiliencyDir(t, map[string]string{"resiliency.yaml": docsResiliency, "components.yaml": comps, "extra.yaml": extra})
	mport := freePort(t)
	s := startSidecar(t, Opts{AppID: "app1", Args: []string{"--resources-path", dir, "--metrics-port", strconv.Itoa(mport)}})

	// statestore1 runs under timeout general, retryForever, simpleCB.
	wantStatus(t, "save", s.do("POST", "/v1.0/state/statestore1", []byte(`[{"key":"k","value":{"a":1}}]`), "Content-Type", "application/json"), 204)
	r := s.do("GET", "/v1.0/state/statestore1/k", nil)
	wantStatus(t, "get", r, 200)
	if string(r.Body) != `{"a":1}` {
		t.Fatalf("get: %q", r.Body)
	}
	wantStatus(t, "publish", s.do("POST", "/v1.0/publish/pubsub1/orders", []byte(`{"id":1}`), "Content-Type", "application/json"), 204)
	// The output binding's target fails twice: retried under "quick".
	r = s.do("POST", "/v1.0/bindings/web", []byte(`{"operation":"get"}`))
	wantStatus(t, "binding", r, 200)
	if n := flaky.Hits("/"); n != 3 {
		t.Fatalf("binding: target saw %d attempts, want 3", n)
	}
	if strings.Contains(s.Stderr(), "Could not read resiliency") {
		t.Fatalf("the documentation's example did not load:\n%s", s.Stderr())
	}
	if !strings.Contains(s.Stderr(), "actor targets are read but not applied") {
		t.Errorf("no warning about the actor targets:\n%s", s.Stderr())
	}

	fams := scrape(t, mport)
	for _, name := range []string{"myresiliency", "extra"} {
		if m := series(fams["dapr_resiliency_loaded"], map[string]string{"app_id": "app1", "name": name, "namespace": ""}); m == nil || m.GetCounter().GetValue() != 1 {
			t.Errorf("dapr_resiliency_loaded{name=%q}: %v", name, describe(fams["dapr_resiliency_loaded"]))
		}
	}
	for _, c := range []struct {
		policy, target string
		min            float64
	}{{"timeout", "Statestore_statestore1", 2}, {"retry", "Statestore_statestore1", 2}, {"circuitbreaker", "Statestore_statestore1", 2}, {"retry", "Pubsub_pubsub1", 1}} {
		m := resilSeries(fams["dapr_resiliency_count"], map[string]string{"policy": c.policy, "target": c.target, "flow_direction": "outbound"})
		if m == nil || m.GetCounter().GetValue() < c.min {
			t.Errorf("dapr_resiliency_count{policy=%s,target=%s}: %v", c.policy, c.target, describe(fams["dapr_resiliency_count"]))
		}
	}
	if m := resilSeries(fams["dapr_resiliency_activations_total"], map[string]string{"policy": "retry", "target": "Binding_web"}); m == nil || m.GetCounter().GetValue() != 2 {
		t.Errorf("retry activations for the binding: %v", describe(fams["dapr_resiliency_activations_total"]))
	}

	// Scoped to app1 and app2: another app id does not load it.
	oport := freePort(t)
	other := startSidecar(t, Opts{AppID: "app3", Args: []string{"--resources-path", dir, "--metrics-port", strconv.Itoa(oport)}})
	wantStatus(t, "app3 save", other.do("POST", "/v1.0/state/statestore1", []byte(`[{"key":"k","value":1}]`), "Content-Type", "application/json"), 204)
	ofams := scrape(t, oport)
	if resilSeries(ofams["dapr_resiliency_loaded"], map[string]string{"name": "myresiliency"}) != nil {
		t.Errorf("app3 loaded a document scoped to app1 and app2: %v", describe(ofams["dapr_resiliency_loaded"]))
	}
	if resilSeries(ofams["dapr_resiliency_count"], map[string]string{"target": "Statestore_statestore1"}) != nil {
		t.Errorf("app3 applied a policy of a document scoped to app1 and app2: %v", describe(ofams["dapr_resiliency_count"]))
	}
}
