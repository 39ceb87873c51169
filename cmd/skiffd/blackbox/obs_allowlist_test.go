package blackbox

import (
	"os"
	"path/filepath"
	"testing"
)

// Configuration spec.api allowed/denied lists, for the HTTP API, with
// daprd's semantics: a route not allowed is not served (404, like an
// unknown path); denied beats allowed; healthz is always served; gRPC rules
// do not touch the HTTP API.
func TestAPIAllowList(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		api  string
		want map[string]int // "METHOD path" → status
	}{
		{"allow state only", "    allowed:\n    - name: state\n      version: v1.0\n      protocol: http\n",
			map[string]int{"GET /v1.0/state/statestore/k": 204, "GET /v1.0/metadata": 404, "GET /v1.0/healthz": 204,
				"POST /v1.0/invoke/other/method/x": 404, "GET /v1.0/publish/x": 404}},
		{"deny state", "    denied:\n    - name: state\n      version: v1.0\n      protocol: http\n",
			map[string]int{"GET /v1.0/state/statestore/k": 404, "GET /v1.0/metadata": 200}},
		{"deny beats allow", "    allowed:\n    - name: state\n      version: v1.0\n    - name: metadata\n      version: v1.0\n    denied:\n    - name: metadata\n      version: v1.0\n      protocol: http\n",
			map[string]int{"GET /v1.0/state/statestore/k": 204, "GET /v1.0/metadata": 404}},
		{"group version", "    allowed:\n    - name: metadata\n      version: v1\n      protocol: http\n",
			map[string]int{"GET /v1.0/metadata": 200, "GET /v1.0/state/statestore/k": 404}},
		{"grpc rules leave http alone", "    allowed:\n    - name: state\n      version: v1\n      protocol: grpc\n",
			map[string]int{"GET /v1.0/metadata": 200, "GET /v1.0/state/statestore/k": 204}},
		{"alpha version", "    allowed:\n    - name: state\n      version: v1.0-alpha1\n      protocol: http\n",
			map[string]int{"GET /v1.0/state/statestore/k": 404, "GET /v1.0/metadata": 404}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, "c"+string(rune('a'+i))+".yaml")
			doc := "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: c\nspec:\n  api:\n" + tc.api
			if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			s := startSidecar(t, Opts{Args: []string{"--config", p}})
			for req, st := range tc.want {
				var method, path string
				for j := range req {
					if req[j] == ' ' {
						method, path = req[:j], req[j+1:]
						break
					}
				}
				wantStatus(t, req, s.do(method, path, nil), st)
			}
		})
	}
}
