package blackbox

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// TestBindingsRedis: bindings.redis through /v1.0/bindings/{name} writes
// daprd's layout (the request's JSON data as a plain string at the key,
// ttlInSeconds as an expiry), reads back what daprd's layout holds, and
// refuses bad input with daprd's 500 ERR_INVOKE_OUTPUT_BINDING.
func TestBindingsRedis(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	plain := redisClient(t, addr)
	prefix := conformance.UniqueName("skiff-bb-")
	t.Cleanup(func() { redisDelPrefix(plain, prefix+"*") })
	dir := t.TempDir()
	writeFile(t, dir, "r.yaml", bindingYAML("kv", "bindings.redis", "redisHost", addr, "redisPassword", "", "enableTLS", "false"))
	s := startSidecar(t, Opts{Args: []string{"--resources-path", dir}})
	call := func(body string) Resp { return s.do("POST", "/v1.0/bindings/kv", []byte(body)) }
	ctx := context.Background()

	wantStatus(t, "create", call(`{"operation":"create","data":{"a":[1,2]},"metadata":{"key":"`+prefix+`k","ttlInSeconds":"60"}}`), 204)
	if v, err := plain.Do(ctx, plain.B().Get().Key(prefix+"k").Build()).ToString(); err != nil || v != `{"a":[1,2]}` {
		t.Fatalf("plain GET %q, %v", v, err)
	}
	if ttl, _ := plain.Do(ctx, plain.B().Ttl().Key(prefix+"k").Build()).AsInt64(); ttl <= 0 || ttl > 60 {
		t.Fatalf("TTL %d", ttl)
	}
	plain.Do(ctx, plain.B().Set().Key(prefix+"d").Value(`"from daprd"`).Build())
	r := call(`{"operation":"get","metadata":{"key":"` + prefix + `d"}}`)
	if r.Status != 200 || string(r.Body) != `"from daprd"` {
		t.Fatalf("get: %d %q", r.Status, r.Body)
	}
	wantStatus(t, "increment", call(`{"operation":"increment","metadata":{"key":"`+prefix+`n"}}`), 204)
	wantStatus(t, "delete", call(`{"operation":"delete","metadata":{"key":"`+prefix+`d"}}`), 204)
	r = call(`{"operation":"get","metadata":{"key":"` + prefix + `d"}}`)
	if r.Status != 200 || len(r.Body) != 0 {
		t.Fatalf("get of a deleted key: %d %q", r.Status, r.Body)
	}
	wantAPIError(t, "no key", call(`{"operation":"create","data":1}`), 500, "ERR_INVOKE_OUTPUT_BINDING",
		"error invoking output binding kv: redis binding: missing key in request metadata")
	wantAPIError(t, "bad ttl", call(`{"operation":"create","data":1,"metadata":{"key":"`+prefix+`x","ttlInSeconds":"soon"}}`), 500,
		"ERR_INVOKE_OUTPUT_BINDING", "ttlInSeconds value must be a valid integer")
	if n, _ := plain.Do(ctx, plain.B().Exists().Key(prefix+"x").Build()).AsInt64(); n != 0 {
		t.Fatal("a refused create wrote its key")
	}
	wantAPIError(t, "unsupported operation", call(`{"operation":"list","metadata":{"key":"k"}}`), 500,
		"ERR_INVOKE_OUTPUT_BINDING", "does not support operation list")
}

// TestBindingsRedisDownAtStartup: with Redis not listening skiffd starts,
// healthz names the binding, calls answer 500 ERR_INVOKE_OUTPUT_BINDING;
// once Redis is up, skiffd connects by itself.
func TestBindingsRedisDownAtStartup(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	dir := t.TempDir()
	writeFile(t, dir, "r.yaml", bindingYAML("kvdown", "bindings.redis", "redisHost", "127.0.0.1:"+strconv.Itoa(port)))
	s := startSidecar(t, Opts{Args: []string{"--resources-path", dir}, NoWait: true})
	s.waitListening(10 * time.Second)
	var last Resp
	pollUntil(t, 10*time.Second, "healthz naming the binding", func() bool {
		last = s.do("GET", "/v1.0/healthz", nil)
		return last.Status == 500 && strings.Contains(string(last.Body), "127.0.0.1:"+strconv.Itoa(port))
	})
	wantAPIError(t, "healthz", last, 500, "ERR_HEALTH_NOT_READY", "binding kvdown: redis binding")
	wantAPIError(t, "create while down", s.do("POST", "/v1.0/bindings/kvdown", []byte(`{"operation":"create","data":1,"metadata":{"key":"k"}}`)),
		500, "ERR_INVOKE_OUTPUT_BINDING", "error invoking output binding kvdown")
	if s.Exited() {
		t.Fatal("skiffd exited")
	}
	privateRedis(t, port)
	pollUntil(t, 30*time.Second, "healthz 204 after Redis started", func() bool {
		return s.do("GET", "/v1.0/healthz", nil).Status == 204
	})
	wantStatus(t, "create", s.do("POST", "/v1.0/bindings/kvdown", []byte(`{"operation":"create","data":1,"metadata":{"key":"k"}}`)), 204)
	r := s.do("POST", "/v1.0/bindings/kvdown", []byte(`{"operation":"get","metadata":{"key":"k"}}`))
	if r.Status != 200 || string(r.Body) != "1" {
		t.Fatalf("get: %d %q", r.Status, r.Body)
	}
}
