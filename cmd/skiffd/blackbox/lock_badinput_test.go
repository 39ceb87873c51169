package blackbox

import "testing"

// TestLockBadInput: daprd's validation errors, in daprd's order, and an
// unknown store; a resources path without lock stores answers
// ERR_LOCK_STORE_NOT_CONFIGURED.
func TestLockBadInput(t *testing.T) {
	t.Parallel()
	s := startSidecar(t, Opts{})
	const lockURL = "/v1.0-alpha1/lock/lockstore"
	wantAPIError(t, "broken JSON", s.do("POST", lockURL, []byte(`{"resourceId":`)), 400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body")
	wantAPIError(t, "no expiry", s.do("POST", lockURL, []byte(`{"resourceId":"r","lockOwner":"o"}`)), 400, "ERR_MALFORMED_REQUEST", "ExpiryInSeconds is not positive in lock store lockstore")
	wantAPIError(t, "no resource", s.do("POST", lockURL, []byte(`{"lockOwner":"o","expiryInSeconds":5}`)), 400, "ERR_MALFORMED_REQUEST", "ResourceId is empty in lock store lockstore")
	wantAPIError(t, "no owner", s.do("POST", lockURL, []byte(`{"resourceId":"r","expiryInSeconds":5}`)), 400, "ERR_MALFORMED_REQUEST", "LockOwner is empty in lock store lockstore")
	wantAPIError(t, "unknown store", s.do("POST", "/v1.0-alpha1/lock/nope", []byte(`{"resourceId":"r","lockOwner":"o","expiryInSeconds":5}`)), 400, "ERR_LOCK_STORE_NOT_FOUND", "lock store nope not found")
	wantAPIError(t, "unlock unknown store", s.do("POST", "/v1.0-alpha1/unlock/nope", []byte(`{"resourceId":"r","lockOwner":"o"}`)), 400, "ERR_LOCK_STORE_NOT_FOUND")
	wantAPIError(t, "|| in resource", s.do("POST", lockURL, []byte(`{"resourceId":"a||b","lockOwner":"o","expiryInSeconds":5}`)), 500, "ERR_TRY_LOCK", "can't contain '||'")

	dir := t.TempDir()
	writeFile(t, dir, "state.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: st\nspec:\n  type: state.in-memory\n  version: v1\n")
	s2 := startSidecar(t, Opts{Args: []string{"--resources-path", dir}})
	wantAPIError(t, "no lock stores", s2.do("POST", lockURL, []byte(`{"resourceId":"r","lockOwner":"o","expiryInSeconds":5}`)), 500, "ERR_LOCK_STORE_NOT_CONFIGURED", "lock store is not configured")
}
