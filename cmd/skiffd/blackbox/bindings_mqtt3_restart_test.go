package blackbox

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// TestBindingsMQTT3KilledUnacked: a message the app failed (no in-process
// retries: backOffMaxRetries 0, daprd's default) stays unacknowledged; a
// skiffd SIGKILLed then and started again with the same consumerID gets it
// from the broker's session and delivers it (at-least-once across a crash).
func TestBindingsMQTT3KilledUnacked(t *testing.T) {
	t.Parallel()
	url := mqttBindAddr(t)
	topic := conformance.UniqueName("skiff/bb/")
	id := conformance.UniqueName("skiff-bb-")
	t.Cleanup(func() { mqttBindForget(url, id+"-consumer") })
	var accept atomic.Bool
	app := startMQTTBindApp(t, func(body string, _ int) bool { return body == "survivor" && !accept.Load() })
	dir := t.TempDir()
	writeFile(t, dir, "mq.yaml", bindingYAML("mqk", "bindings.mqtt3", "url", url, "topic", topic, "consumerID", id))
	opts := Opts{AppPort: app.Port, Args: []string{"--resources-path", dir}}
	s := startSidecar(t, opts)
	pollUntil(t, 30*time.Second, "the consumer's subscription", func() bool {
		p := "probe-" + time.Now().Format("150405.000000")
		mqttBindPublish(t, url, topic, p)
		for stop := time.Now().Add(500 * time.Millisecond); time.Now().Before(stop); time.Sleep(20 * time.Millisecond) {
			if _, h := app.state(p); h != nil {
				return true
			}
		}
		return false
	})
	mqttBindPublish(t, url, topic, "survivor")
	pollUntil(t, 30*time.Second, "the failed delivery", func() bool { n, _ := app.state("survivor"); return n >= 1 })

	_ = s.cmd.Process.Kill()
	s.WaitExit(10 * time.Second)
	s.MarkStopped()
	accept.Store(true)

	startSidecar(t, opts)
	app.waitTaken(t, "survivor", 30*time.Second)
}
