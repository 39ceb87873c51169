package blackbox

import (
	"strings"
	"testing"
	"time"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// natsStart is services.md's command.
const natsStart = `start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log`

// TestFaultPubsubJetStreamRestart: the shared NATS server is stopped in the
// middle of a publish load and started again with services.md's command.
// During the outage publishes fail promptly with 500 (nothing buffered for
// later); publishing recovers by itself; every publish answered 204 is
// delivered to the app (the stream is on disk).
func TestFaultPubsubJetStreamRestart(t *testing.T) {
	needFaults(t)
	url := natsURL(t)
	hostPort := strings.TrimPrefix(url, "nats://")
	defer func() {
		// Always bring NATS back, even when the test fails.
		if !portUp(hostPort) {
			if out, err := run(natsStart); err != nil {
				t.Errorf("restarting nats: %v %s", err, out)
			}
			pollUntil(t, 30*time.Second, "nats back", func() bool { return portUp(hostPort) })
		}
	}()
	stream := psconf.Topic("skiff-fault")
	topic := stream + "-t"
	t.Cleanup(func() { natsDeleteStream(url, stream) })
	dir := brokerComponent(t, "pubsub.jetstream", "natsURL", url, "streamName", stream, "skiffCreateStream", "true")
	app := startIDApp(t, topic, 0)
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--resources-path", dir}})
	s.waitSubscribed(t, 1)

	l := startPublishLoad(t, s, topic, 4)
	pollUntil(t, 20*time.Second, "publishes before the outage", func() bool { return l.ok.Load() >= 50 })
	if out, err := run("start-stop-daemon --stop --oknodo --retry 10 --exec /usr/sbin/nats-server"); err != nil {
		t.Fatalf("stopping nats: %v %s", err, out)
	}
	pollUntil(t, 30*time.Second, "nats down", func() bool { return !portUp(hostPort) })
	pollUntil(t, 30*time.Second, "failed publishes during the outage", func() bool { return l.bad.Load() >= 5 })
	before := l.ok.Load()
	if out, err := run(natsStart); err != nil {
		t.Fatalf("starting nats: %v %s", err, out)
	}
	pollUntil(t, 60*time.Second, "publishes after the restart", func() bool { return l.ok.Load() >= before+50 })
	ids := l.check(t, "NATS")
	app.waitIDs(t, ids, 60*time.Second)
}
