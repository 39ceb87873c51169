// Package testsvc finds the backend services (Redis, PostgreSQL, …) that
// conformance and black-box tests run against. A service that does not
// answer skips the test, and fails it when CI=true: in CI a missing service
// is a failure, never a silent skip. For tests only; it keeps no state.
package testsvc

import (
	"net"
	"os"
	"testing"
	"time"
)

// Addr returns the value of env, or def when it is unset, after checking
// that dial (host:port; the returned value when empty) accepts a TCP
// connection.
func Addr(t testing.TB, name, env, def, dial string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		v = def
	}
	if dial == "" {
		dial = v
	}
	c, err := net.DialTimeout("tcp", dial, 3*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not reachable at %s (%s): %v; run .ci/services.sh", name, dial, env, err)
		}
		t.Skipf("%s is not reachable at %s (%s): %v; run .ci/services.sh", name, dial, env, err)
	}
	c.Close()
	return v
}

// Redis is Addr for the Redis at SKIFF_REDIS_ADDR (default 127.0.0.1:6379).
func Redis(t testing.TB) string {
	t.Helper()
	return Addr(t, "Redis", "SKIFF_REDIS_ADDR", "127.0.0.1:6379", "")
}
