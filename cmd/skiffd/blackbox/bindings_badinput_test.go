package blackbox

import "testing"

// TestBindingsBadInput: what daprd answers on the output route for broken
// bodies, unknown bindings and missing operations; nothing is invoked.
func TestBindingsBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root := t.TempDir()
	writeFile(t, dir, "ls.yaml", bindingYAML("files", "bindings.localstorage", "rootPath", root))
	s := startSidecar(t, Opts{Args: []string{"--resources-path", dir}})
	for _, tc := range []struct{ name, body, msg string }{
		{"broken json", `{"operation":`, "failed deserializing HTTP body: unexpected end of JSON input"},
		{"empty body", ``, "failed deserializing HTTP body: unexpected end of JSON input"},
		{"not an object", `[1]`, "failed deserializing HTTP body: json: cannot unmarshal array into Go value of type http.OutputBindingRequest"},
		{"metadata not strings", `{"operation":"get","metadata":{"fileName":1}}`, "cannot unmarshal number into Go struct field OutputBindingRequest.metadata of type string"},
	} {
		wantAPIError(t, tc.name, s.do("POST", "/v1.0/bindings/files", []byte(tc.body)), 400, "ERR_MALFORMED_REQUEST", tc.msg)
	}
	wantAPIError(t, "no operation", s.do("POST", "/v1.0/bindings/files", []byte(`{"data":1}`)), 500, "ERR_INVOKE_OUTPUT_BINDING",
		"error invoking output binding files: operation field is missing from request")
	wantAPIError(t, "unknown binding", s.do("POST", "/v1.0/bindings/nope", []byte(`{"operation":"create"}`)), 500, "ERR_INVOKE_OUTPUT_BINDING",
		"error invoking output binding nope: couldn't find output binding nope")
	wantAPIError(t, "no operation, unknown binding", s.do("PUT", "/v1.0/bindings/nope", []byte(`{}`)), 500, "ERR_INVOKE_OUTPUT_BINDING",
		"operation field is missing from request")
	// The sidecar is still fine.
	wantStatus(t, "after", s.do("POST", "/v1.0/bindings/files", []byte(`{"operation":"create","data":"x","metadata":{"fileName":"ok"}}`)), 200)
}
