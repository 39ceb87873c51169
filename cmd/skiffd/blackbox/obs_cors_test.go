package blackbox

import "testing"

// --allowed-origins as daprd: "*" (the default) allows every origin with
// credentials; a list echoes the allowed origin; preflights are answered
// before the token check.
func TestCORS(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		s := startSidecar(t, Opts{Env: []string{"DAPR_API_TOKEN=tok"}})
		r := s.do("GET", "/v1.0/healthz", nil, "Origin", "http://web.example")
		if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "true" || r.Header.Get("Vary") != "Origin" {
			t.Errorf("actual request headers: %v", r.Header)
		}
		pf := s.do("OPTIONS", "/v1.0/state/statestore", nil, "Origin", "http://web.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "dapr-api-token,content-type")
		wantStatus(t, "preflight without token", pf, 200)
		if pf.Header.Get("Access-Control-Allow-Methods") != "POST" || pf.Header.Get("Access-Control-Allow-Headers") != "Dapr-Api-Token, Content-Type" {
			t.Errorf("preflight headers: %v", pf.Header)
		}
		wantStatus(t, "no token", s.do("GET", "/v1.0/metadata", nil, "Origin", "http://web.example"), 401)
	})
	t.Run("list", func(t *testing.T) {
		s := startSidecar(t, Opts{Args: []string{"--allowed-origins", "http://a.example,http://b.example"}})
		r := s.do("GET", "/v1.0/metadata", nil, "Origin", "http://b.example")
		if r.Header.Get("Access-Control-Allow-Origin") != "http://b.example" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("allowed origin: %v", r.Header)
		}
		r = s.do("GET", "/v1.0/metadata", nil, "Origin", "http://evil.example")
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("refused origin got %q", r.Header.Get("Access-Control-Allow-Origin"))
		}
		pf := s.do("OPTIONS", "/v1.0/metadata", nil, "Origin", "http://evil.example", "Access-Control-Request-Method", "GET")
		if pf.Status != 200 || pf.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("refused preflight: %d %v", pf.Status, pf.Header)
		}
	})
}
