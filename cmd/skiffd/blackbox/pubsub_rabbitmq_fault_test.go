package blackbox

import (
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

	l := startPublishLoad(t, s, topic, 4)
	pollUntil(t, 20*time.Second, "publishes before the outage", func() bool { return l.ok.Load() >= 50 })
	if out, err := run("rabbitmqctl stop"); err != nil {
		t.Fatalf("stopping rabbitmq: %v %s", err, out)
	}
	pollUntil(t, 60*time.Second, "rabbitmq down", func() bool { return !amqpUp(url) })
	pollUntil(t, 30*time.Second, "failed publishes during the outage", func() bool { return l.bad.Load() >= 5 })
	down := l.ok.Load()
	time.Sleep(time.Second)
	if n := l.ok.Load(); n != down {
		t.Errorf("%d publishes answered 204 while RabbitMQ was down", n-down)
	}
	if out, err := run(rabbitStart); err != nil {
		t.Fatalf("starting rabbitmq: %v %s", err, out)
	}
	pollUntil(t, 120*time.Second, "rabbitmq back", func() bool { return amqpUp(url) })
	pollUntil(t, 60*time.Second, "publishes after the restart", func() bool { return l.ok.Load() >= down+50 })
	ids := l.check(t, "RabbitMQ")
	app.waitIDs(t, ids, 90*time.Second)
}
