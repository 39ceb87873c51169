package blackbox

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// Helpers for the state backend scenarios (state_redis_*, state_pg_*).

// redisAddr is the shared Redis (SKIFF_REDIS_ADDR); skipped when down, a
// failure with CI=true.
func redisAddr(t testing.TB) string {
	return conformance.Service(t, "Redis", "SKIFF_REDIS_ADDR", "127.0.0.1:6379", "")
}

// pgURL is the shared PostgreSQL (SKIFF_PG_URL).
func pgURL(t testing.TB) string {
	return conformance.Service(t, "PostgreSQL", "SKIFF_PG_URL",
		"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "127.0.0.1:5432")
}

// redisClient is a plain client for checking what skiffd wrote.
func redisClient(t testing.TB, addr string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// redisDelPrefix deletes every key matching pattern (test cleanup).
func redisDelPrefix(c rueidis.Client, pattern string) {
	ctx := context.Background()
	keys, _ := c.Do(ctx, c.B().Keys().Pattern(pattern).Build()).AsStrSlice()
	for _, k := range keys {
		c.Do(ctx, c.B().Del().Key(k).Build())
	}
}

// privateRedis starts a redis-server of our own on a free port (for tests
// that stop it), killed at the end of the test.
func privateRedis(t testing.TB, port int) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not installed")
		}
		t.Skip("redis-server not installed")
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("private redis-server on %d did not start", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pollUntil polls f until it returns true or d passes.
func pollUntil(t testing.TB, d time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
