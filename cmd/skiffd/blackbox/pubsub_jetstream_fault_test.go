package blackbox

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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

	var (
		mu      sync.Mutex
		acked   []string
		ok, bad atomic.Int64
		slowest atomic.Int64 // ns of the slowest failed publish
		stop    atomic.Bool
		wg      sync.WaitGroup
		seq     atomic.Int64
	)
	c := &http.Client{Timeout: 30 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Go(func() {
			for !stop.Load() {
				id := fmt.Sprintf("f-%d", seq.Add(1))
				body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"t","type":"t","data":1}`, id)
				start := time.Now()
				req, _ := http.NewRequest("POST", s.URL+"/v1.0/publish/ps/"+topic, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/cloudevents+json")
				resp, err := c.Do(req)
				if err != nil {
					bad.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == 204 {
					ok.Add(1)
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
					continue
				}
				bad.Add(1)
				if d := int64(time.Since(start)); d > slowest.Load() {
					slowest.Store(d)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	pollUntil(t, 20*time.Second, "publishes before the outage", func() bool { return ok.Load() >= 50 })
	if out, err := run("start-stop-daemon --stop --oknodo --retry 10 --exec /usr/sbin/nats-server"); err != nil {
		t.Fatalf("stopping nats: %v %s", err, out)
	}
	pollUntil(t, 30*time.Second, "nats down", func() bool { return !portUp(hostPort) })
	pollUntil(t, 30*time.Second, "failed publishes during the outage", func() bool { return bad.Load() >= 5 })
	before := ok.Load()
	if out, err := run(natsStart); err != nil {
		t.Fatalf("starting nats: %v %s", err, out)
	}
	pollUntil(t, 60*time.Second, "publishes after the restart", func() bool { return ok.Load() >= before+50 })
	stop.Store(true)
	wg.Wait()
	t.Logf("%d publishes acknowledged, %d failed; slowest failure %s", ok.Load(), bad.Load(), time.Duration(slowest.Load()))
	if d := time.Duration(slowest.Load()); d > 6*time.Second {
		t.Errorf("a failed publish took %s: publishes must fail promptly while NATS is down", d)
	}
	mu.Lock()
	ids := append([]string(nil), acked...)
	mu.Unlock()
	app.waitIDs(t, ids, 60*time.Second)
}
