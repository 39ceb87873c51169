package blackbox

import "testing"

// wantBody fails unless r is status st with exactly body want.
func wantBody(t testing.TB, what string, r Resp, st int, want string) {
	t.Helper()
	if r.Status != st || string(r.Body) != want {
		t.Errorf("%s: got %d %q, want %d %q", what, r.Status, trunc(r.Body), st, want)
	}
}
