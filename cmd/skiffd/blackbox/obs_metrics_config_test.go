package blackbox

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Configuration spec.metric: low cardinality, path matching, and metrics
// turned off by the Configuration or by --enable-metrics=false.
func TestMetricsConfiguration(t *testing.T) {
	dir := t.TempDir()
	conf := func(name, spec string) string {
		p := filepath.Join(dir, name)
		doc := "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: " + name + "\nspec:\n" + spec
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("low cardinality", func(t *testing.T) {
		mport := freePort(t)
		s := startSidecar(t, Opts{AppID: "lowcard", Args: []string{"--metrics-port", strconv.Itoa(mport),
			"--config", conf("low.yaml", "  metric:\n    http:\n      increasedCardinality: false\n")}})
		s.do("POST", "/v1.0/state/statestore", []byte(`[{"key":"a","value":1}]`))
		s.do("GET", "/v1.0/state/statestore/a", nil)
		s.do("GET", "/v1.0/state/statestore/b", nil)
		s.do("GET", "/v1.0/metadata", nil)
		count := scrape(t, mport)["dapr_http_server_request_count"]
		for lbl, n := range map[[2]string]float64{{"SaveState", "204"}: 1, {"GetState", "200"}: 1, {"GetState", "204"}: 1, {"GetMetadata", "200"}: 1} {
			m := series(count, map[string]string{"app_id": "lowcard", "method": lbl[0], "status": lbl[1]})
			if m == nil || m.GetCounter().GetValue() != n {
				t.Errorf("%v: %v; series %s", lbl, m, describe(count))
			}
		}
	})

	t.Run("path matching", func(t *testing.T) {
		mport := freePort(t)
		s := startSidecar(t, Opts{AppID: "pathmatch", Args: []string{"--metrics-port", strconv.Itoa(mport),
			"--config", conf("pm.yaml", "  metrics:\n    http:\n      increasedCardinality: false\n      pathMatching:\n      - /v1.0/state/{store}/{key}\n")}})
		s.do("GET", "/v1.0/state/statestore/a", nil)
		s.do("GET", "/v1.0/state/statestore/b", nil)
		s.do("GET", "/v1.0/metadata", nil)
		count := scrape(t, mport)["dapr_http_server_request_count"]
		if m := series(count, map[string]string{"app_id": "pathmatch", "method": "GET", "path": "/v1.0/state/{store}/{key}", "status": "204"}); m == nil || m.GetCounter().GetValue() != 2 {
			t.Errorf("matched path: %s", describe(count))
		}
		if m := series(count, map[string]string{"app_id": "pathmatch", "method": "GET", "path": "_", "status": "200"}); m == nil {
			t.Errorf("unmatched path: %s", describe(count))
		}
	})

	t.Run("disabled by configuration", func(t *testing.T) {
		mport := freePort(t)
		s := startSidecar(t, Opts{AppID: "nometrics", Args: []string{"--metrics-port", strconv.Itoa(mport),
			"--config", conf("off.yaml", "  metric:\n    enabled: false\n")}})
		wantStatus(t, "healthz", s.do("GET", "/v1.0/healthz", nil), 204)
		if !portClosed(mport) {
			t.Error("metrics served although spec.metric.enabled is false")
		}
	})

	t.Run("disabled by flag", func(t *testing.T) {
		mport := freePort(t)
		s := startSidecar(t, Opts{AppID: "nometricsflag", Args: []string{"--metrics-port", strconv.Itoa(mport), "--enable-metrics=false"}})
		wantStatus(t, "healthz", s.do("GET", "/v1.0/healthz", nil), 204)
		if !portClosed(mport) {
			t.Error("metrics served with --enable-metrics=false")
		}
	})
}
