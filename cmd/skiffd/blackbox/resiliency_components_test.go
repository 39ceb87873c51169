package blackbox

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Secret stores, configuration stores and lock stores run under their
// component's outbound policy, as in daprd: a lock store whose Redis
// refuses connections is retried, a configuration store whose Redis never
// answers is cut by the timeout, and a secret store's reads are counted;
// the resiliency metrics name each target Secretstore_, Configuration_ and
// Lock_<name>.
func TestResiliencySecretsConfigurationLock(t *testing.T) {
	closed := freePort(t) // nothing listens there: every dial is refused
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() { // accepts and never answers
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	secretsFile := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(secretsFile, []byte(`{"db":"pw"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	comps := `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: vault
spec:
  type: secretstores.local.file
  version: v1
  metadata:
  - name: secretsFile
    value: ` + secretsFile + `
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: locks
spec:
  type: lock.redis
  version: v1
  metadata:
  - name: redisHost
    value: 127.0.0.1:` + strconv.Itoa(closed) + `
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: conf
spec:
  type: configuration.redis
  version: v1
  metadata:
  - name: redisHost
    value: ` + silent.Addr().String() + `
`
	res := `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: stores
spec:
  policies:
    timeouts:
      short: 300ms
    retries:
      quick:
        policy: constant
        duration: 20ms
        maxRetries: 2
  targets:
    components:
      vault:
        outbound:
          retry: quick
      locks:
        outbound:
          retry: quick
      conf:
        outbound:
          timeout: short
`
	dir := resiliencyDir(t, map[string]string{"components.yaml": comps, "resiliency.yaml": res})
	mport := freePort(t)
	// The Redis stores never become ready: healthz stays 500.
	s := startSidecar(t, Opts{AppID: "stores", NoWait: true, Args: []string{"--resources-path", dir, "--metrics-port", strconv.Itoa(mport)}})
	s.waitListening(10 * time.Second)

	r := s.do("GET", "/v1.0/secrets/vault/db", nil)
	wantStatus(t, "secret", r, 200)
	if string(r.Body) != `{"db":"pw"}` {
		t.Fatalf("secret: %s", r.Body)
	}
	wantStatus(t, "bulk secret", s.do("GET", "/v1.0/secrets/vault/bulk", nil), 200)

	r = s.do("POST", "/v1.0-alpha1/lock/locks", []byte(`{"resourceId":"r1","lockOwner":"o","expiryInSeconds":5}`), "Content-Type", "application/json")
	if r.Status == 200 {
		t.Fatalf("lock on a refused Redis answered 200: %s", r.Body)
	}

	start := time.Now()
	r = s.do("GET", "/v1.0/configuration/conf?key=a", nil)
	took := time.Since(start)
	if r.Status == 200 {
		t.Fatalf("configuration on a silent Redis answered 200: %s", r.Body)
	}
	if took < 250*time.Millisecond || took > 5*time.Second {
		t.Errorf("configuration get took %v, want about the 300ms timeout", took)
	}

	fams := scrape(t, mport)
	for _, c := range []struct {
		metric, policy, target string
		want                   float64
	}{
		{"dapr_resiliency_count", "retry", "Secretstore_vault", 2},
		{"dapr_resiliency_count", "retry", "Lock_locks", 1},
		{"dapr_resiliency_activations_total", "retry", "Lock_locks", 2},
		{"dapr_resiliency_count", "timeout", "Configuration_conf", 1},
		{"dapr_resiliency_activations_total", "timeout", "Configuration_conf", 1},
	} {
		m := resilSeries(fams[c.metric], map[string]string{"app_id": "stores", "policy": c.policy, "target": c.target, "flow_direction": "outbound"})
		if m == nil || m.GetCounter().GetValue() != c.want {
			t.Errorf("%s{policy=%s,target=%s} want %v: %v", c.metric, c.policy, c.target, c.want, describe(fams[c.metric]))
		}
	}
	if m := resilSeries(fams["dapr_resiliency_activations_total"], map[string]string{"target": "Secretstore_vault"}); m != nil {
		t.Errorf("a secret read that succeeded activated a policy: %v", describe(fams["dapr_resiliency_activations_total"]))
	}
}
