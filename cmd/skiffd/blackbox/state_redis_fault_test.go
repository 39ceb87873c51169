package blackbox

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// redisStart is services.md's command.
const redisStart = `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log`

// TestFaultStateRedisRestart: the shared Redis is shut down in the middle of
// a save load and started again with services.md's command. During the
// outage skiffd answers clear 500s; it recovers by itself; no acknowledged
// write is lost. The shared Redis keeps nothing on disk, so it is shut down
// with SHUTDOWN SAVE (a snapshot it reloads on start, deleted afterwards):
// otherwise the restart itself would empty it, whatever the sidecar does.
func TestFaultStateRedisRestart(t *testing.T) {
	needFaults(t)
	addr := redisAddr(t)
	defer func() {
		// Always bring Redis back, even when the test fails.
		if !portUp(addr) {
			if out, err := run(redisStart); err != nil {
				t.Errorf("restarting redis: %v %s", err, out)
			}
			pollUntil(t, 30*time.Second, "redis back", func() bool { return portUp(addr) })
		}
		_ = os.Remove("/var/lib/redis/dump.rdb")
	}()
	dir := t.TempDir()
	writeFile(t, dir, "redis.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: `+addr+`
`)
	appID := conformance.UniqueName("rfault-")
	c := redisClient(t, addr)
	t.Cleanup(func() { redisDelPrefix(c, appID+"||*") })
	s := startSidecar(t, Opts{AppID: appID, Args: []string{"--resources-path", dir}})

	l := startFaultLoad(s, "statestore", 8)
	defer l.finish()
	l.waitOK(t, time.Now(), 20*time.Second, "writes before the outage")
	time.Sleep(500 * time.Millisecond)

	ctx := context.Background()
	_ = c.Do(ctx, c.B().Arbitrary("SHUTDOWN").Args("SAVE").Build()).Error()
	pollUntil(t, 30*time.Second, "redis down", func() bool { return !portUp(addr) })
	l.waitFailures(t, 5, 30*time.Second)
	time.Sleep(time.Second)
	if out, err := run(redisStart); err != nil {
		t.Fatalf("starting redis: %v %s", err, out)
	}
	restarted := time.Now()
	l.waitOK(t, restarted, 60*time.Second, "writes after the restart")
	time.Sleep(500 * time.Millisecond)
	l.finish()
	l.report(t)

	// Every acknowledged write is there.
	keys := make([]string, 0, len(l.acked))
	cmds := make(rueidis.Commands, 0, len(l.acked))
	for k := range l.acked {
		keys = append(keys, k)
		cmds = append(cmds, c.B().Hget().Key(appID+"||"+k).Field("data").Build())
	}
	lost := 0
	for i, r := range c.DoMulti(ctx, cmds...) {
		if v, err := r.ToString(); err != nil || v != l.acked[keys[i]] {
			if lost == 0 {
				t.Errorf("acknowledged write %s=%s reads back %q (%v)", keys[i], l.acked[keys[i]], v, err)
			}
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes lost", lost, len(keys))
	}
}
