package blackbox

import (
	"strings"
	"testing"
)

// TestAPIToken: with DAPR_API_TOKEN set, every API call needs the header
// dapr-api-token; healthz is exempt; the token is not passed to the app.
func TestAPIToken(t *testing.T) {
	t.Parallel()
	app := startApp(t, 0)
	s := startSidecar(t, Opts{AppID: "tokenapp", AppPort: app.Port, Env: []string{"DAPR_API_TOKEN=s3cret-token"}})
	tok := []string{"dapr-api-token", "s3cret-token"}

	for _, c := range []struct{ m, p, body string }{
		{"GET", "/v1.0/state/statestore/k", ""},
		{"POST", "/v1.0/state/statestore", `[{"key":"k","value":1}]`},
		{"GET", "/v1.0/metadata", ""},
		{"PUT", "/v1.0/metadata/cliPID", "1"},
		{"GET", "/v1.0/invoke/tokenapp/method/echo/x", ""},
		{"POST", "/v1.0/shutdown", ""},
		{"POST", "/v1.0/publish/p/t", "{}"},
	} {
		var b []byte
		if c.body != "" {
			b = []byte(c.body)
		}
		for _, h := range [][]string{nil, {"dapr-api-token", "wrong"}, {"dapr-api-token", ""}, {"dapr-api-token", "s3cret-token-longer"}} {
			r := s.do(c.m, c.p, b, h...)
			if r.Status != 401 {
				t.Errorf("%s %s with %v: %d %q, want 401", c.m, c.p, h, r.Status, trunc(r.Body))
			} else if !strings.Contains(string(r.Body), "invalid api token") {
				t.Errorf("%s %s with %v: 401 body %q", c.m, c.p, h, r.Body)
			}
		}
	}
	if s.Exited() {
		t.Fatal("an unauthenticated POST /v1.0/shutdown stopped skiffd")
	}
	wantStatus(t, "healthz without a token", s.do("GET", "/v1.0/healthz", nil), 204)
	if r := s.do("GET", "/v1.0/healthz/outbound", nil); r.Status == 401 {
		t.Logf("note: /v1.0/healthz/outbound needs the token")
	}

	wantStatus(t, "save with the token", s.do("POST", store, []byte(`[{"key":"k","value":"v"}]`), tok...), 204)
	if r := s.do("GET", store+"/k", nil, tok...); r.Status != 200 || string(r.Body) != `"v"` {
		t.Errorf("get with the token: %d %q", r.Status, r.Body)
	}
	wantStatus(t, "metadata with the token", s.do("GET", "/v1.0/metadata", nil, tok...), 200)
	e := decodeEcho(t, "invoke with the token", s.do("GET", "/v1.0/invoke/tokenapp/method/echo/x", nil, tok...))
	if v, ok := e.Headers["Dapr-Api-Token"]; ok {
		t.Errorf("the app received dapr-api-token %q", v)
	}
	// The header form needs the token too.
	if r := s.do("GET", "/echo/y", nil, "dapr-app-id", "tokenapp"); r.Status != 401 {
		t.Errorf("dapr-app-id form without a token: %d", r.Status)
	}
	decodeEcho(t, "dapr-app-id form with the token", s.do("GET", "/echo/y", nil, "dapr-app-id", "tokenapp", "dapr-api-token", "s3cret-token"))
}
