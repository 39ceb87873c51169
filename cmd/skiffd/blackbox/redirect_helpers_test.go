package blackbox

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// needRoot skips (fails with CI=true) when the eBPF shortcut cannot attach.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true: the eBPF redirect scenario needs root and may not skip")
	}
	t.Skip("the eBPF redirect scenario needs root (CAP_BPF and CAP_NET_ADMIN)")
}

// redirectStatus reads the shortcut's attributes from GET /v1.0/metadata.
func redirectStatus(t *testing.T, s *Sidecar) (status string, msgs, bytes uint64) {
	t.Helper()
	r := s.do("GET", "/v1.0/metadata", nil)
	wantStatus(t, "metadata", r, 200)
	var md struct {
		Extended map[string]string `json:"extended"`
	}
	if err := json.Unmarshal(r.Body, &md); err != nil {
		t.Fatalf("metadata: %v: %s", err, r.Body)
	}
	msgs, _ = strconv.ParseUint(md.Extended["ebpfRedirectMsgs"], 10, 64)
	bytes, _ = strconv.ParseUint(md.Extended["ebpfRedirectBytes"], 10, 64)
	return md.Extended["ebpfRedirect"], msgs, bytes
}
