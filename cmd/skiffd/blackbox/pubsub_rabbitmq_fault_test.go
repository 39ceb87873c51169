package blackbox

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// rabbitStart is services.md's command (the Debian wrapper runs the node as
// the rabbitmq user).
const rabbitStart = `rabbitmq-server -detached`

// amqpUp: the broker accepts AMQP connections (not just TCP: the port
// opens before the node has finished booting).
func amqpUp(url string) bool {
	c, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestFaultPubsubRabbitMQRestart: the shared RabbitMQ node is stopped
// (rabbitmqctl stop) in the middle of a publish load and started again with
// services.md's command. During the outage publishes fail promptly with a
// clear 500 ERR_PUBSUB_PUBLISH_MESSAGE; publishing and the subscription
// recover by themselves; every publish answered 204 is delivered to the app
// (at least once: durable queue, persistent messages, publisherConfirm).
func TestFaultPubsubRabbitMQRestart(t *testing.T) {
	needFaults(t)
	url := amqpURL(t)
	defer func() {
		// Always bring RabbitMQ back, even when the test fails.
		if amqpUp(url) {
			return
		}
		if out, err := run(rabbitStart); err != nil {
			t.Errorf("restarting rabbitmq: %v %s", err, out)
		}
		pollUntil(t, 120*time.Second, "rabbitmq back", func() bool { return amqpUp(url) })
	}()
	topic := psconf.Topic("skiff-fault")
	appID := psconf.Topic("rmqfault")
	queue := appID + "-" + topic
	t.Cleanup(func() { amqpDelete(url, topic, queue) })
	dir := brokerComponent(t, "pubsub.rabbitmq", "connectionString", url, "durable", "true", "deletedWhenUnused", "false",
		"deliveryMode", "2", "publisherConfirm", "true", "reconnectWait", "1")
	app := startIDApp(t, topic, 0)
	s := startSidecar(t, Opts{AppID: appID, AppPort: app.Port, Args: []string{"--resources-path", dir}})
	s.waitSubscribed(t, 1)

	var (
		mu      sync.Mutex
		acked   []string
		odd     []string // answers other than 204 or a clear 500
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
					mu.Lock()
					odd = append(odd, err.Error())
					mu.Unlock()
					bad.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 204 {
					ok.Add(1)
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
					continue
				}
				bad.Add(1)
				if resp.StatusCode != 500 || !strings.Contains(string(b), "ERR_PUBSUB_PUBLISH_MESSAGE") {
					mu.Lock()
					odd = append(odd, fmt.Sprintf("%d %s", resp.StatusCode, b))
					mu.Unlock()
				}
				if d := int64(time.Since(start)); d > slowest.Load() {
					slowest.Store(d)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()
	pollUntil(t, 20*time.Second, "publishes before the outage", func() bool { return ok.Load() >= 50 })
	if out, err := run("rabbitmqctl stop"); err != nil {
		t.Fatalf("stopping rabbitmq: %v %s", err, out)
	}
	pollUntil(t, 60*time.Second, "rabbitmq down", func() bool { return !amqpUp(url) })
	pollUntil(t, 30*time.Second, "failed publishes during the outage", func() bool { return bad.Load() >= 5 })
	down := ok.Load()
	time.Sleep(time.Second)
	if n := ok.Load(); n != down {
		t.Errorf("%d publishes answered 204 while RabbitMQ was down", n-down)
	}
	if out, err := run(rabbitStart); err != nil {
		t.Fatalf("starting rabbitmq: %v %s", err, out)
	}
	pollUntil(t, 120*time.Second, "rabbitmq back", func() bool { return amqpUp(url) })
	pollUntil(t, 60*time.Second, "publishes after the restart", func() bool { return ok.Load() >= down+50 })
	stop.Store(true)
	wg.Wait()
	t.Logf("%d publishes acknowledged, %d failed; slowest failure %s", ok.Load(), bad.Load(), time.Duration(slowest.Load()))
	mu.Lock()
	ids := append([]string(nil), acked...)
	if len(odd) > 0 {
		t.Errorf("%d answers were neither 204 nor a clear 500, e.g. %q", len(odd), odd[0])
	}
	mu.Unlock()
	if d := time.Duration(slowest.Load()); d > 6*time.Second {
		t.Errorf("a failed publish took %s: publishes must fail promptly while RabbitMQ is down", d)
	}
	app.waitIDs(t, ids, 90*time.Second)
}
