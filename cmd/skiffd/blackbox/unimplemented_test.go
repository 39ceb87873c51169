package blackbox

import (
	"strings"
	"testing"
)

// TestUnimplemented: every building block skiffd lacks answers 501
// ERR_API_UNIMPLEMENTED naming the block, never a fake success.
func TestUnimplemented(t *testing.T) {
	t.Parallel()
	s := startSidecar(t, Opts{AppID: "unimpl"})
	for _, c := range []struct{ m, p, body, block string }{
		{"GET", "/v1.0-alpha1/subscriptions", "", "pub/sub"},
		{"POST", "/v1.0/actors/type/id/method/m", "", "actors"},
		{"GET", "/v1.0/actors/type/id/state/k", "", "actors"},
		{"POST", "/v1.0/workflows/dapr/wf/start", "", "workflows"},
		{"POST", "/v1.0-beta1/workflows/dapr/wf/start", "", "workflows"},
		{"POST", "/v1.0-alpha1/jobs/job1", `{"schedule":"@every 1m"}`, "jobs"},
		{"PUT", "/v1.0-alpha1/crypto/enc", "", "crypto"},
		{"POST", "/v1.0-alpha1/conversation/llm/converse", `{}`, "conversation"},
		{"POST", "/v1.0-alpha2/conversation/llm/converse", `{}`, "conversation"},
	} {
		var b []byte
		if c.body != "" {
			b = []byte(c.body)
		}
		e := wantAPIError(t, c.m+" "+c.p, s.do(c.m, c.p, b), 501, "ERR_API_UNIMPLEMENTED")
		if !strings.Contains(e.Message, c.block) {
			t.Errorf("%s %s: message %q does not name %q", c.m, c.p, e.Message, c.block)
		}
	}
}
