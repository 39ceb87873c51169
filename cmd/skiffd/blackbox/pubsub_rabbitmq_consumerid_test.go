package blackbox

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// TestPubsubRabbitMQConsumerIDTemplates: daprd's placeholders in consumerID
// reach the broker: {namespace} ("NAMESPACE.appID"), {podName} (POD_NAME)
// and {appID} name the queue {consumerID}-{topic}.
func TestPubsubRabbitMQConsumerIDTemplates(t *testing.T) {
	t.Parallel()
	url := amqpURL(t)
	topic := psconf.Topic("skiff-cid")
	appID := psconf.Topic("cid")
	queue := "ns1." + appID + "-pod-7-" + appID + "-" + topic
	t.Cleanup(func() { amqpDelete(url, topic, queue) })
	dir := brokerComponent(t, "pubsub.rabbitmq", "connectionString", url, "consumerID", "{namespace}-{podName}-{appID}")
	app := startIDApp(t, topic, 0)
	s := startSidecar(t, Opts{AppID: appID, AppPort: app.Port, Env: []string{"NAMESPACE=ns1", "POD_NAME=pod-7"}, Args: []string{"--resources-path", dir}})
	s.waitSubscribed(t, 1)
	ids := publishIDs(t, s, topic, "cid", 5)
	app.waitIDs(t, ids, 30*time.Second)
	c, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclarePassive(queue, true, true, false, false, nil); err != nil {
		t.Fatalf("queue %s: %v", queue, err)
	}
}

// TestPubsubRabbitMQConsumerIDUUID: with consumerID "{uuid}" two replicas
// of one app each get their own queue, so each receives every message
// (the documented way to broadcast); with the default consumerID (the app
// id) they share one queue and each message goes to one of them.
func TestPubsubRabbitMQConsumerIDUUID(t *testing.T) {
	t.Parallel()
	url := amqpURL(t)
	for _, tc := range []struct {
		consumerID string
		broadcast  bool
	}{{"{uuid}", true}, {"", false}} {
		topic := psconf.Topic("skiff-uuid")
		appID := psconf.Topic("uuid")
		// Queues are auto-deleted (deletedWhenUnused) when the sidecars stop.
		t.Cleanup(func() { amqpDelete(url, topic, appID+"-"+topic) })
		md := []string{"connectionString", url}
		if tc.consumerID != "" {
			md = append(md, "consumerID", tc.consumerID)
		}
		dir := brokerComponent(t, "pubsub.rabbitmq", md...)
		a1, a2 := startIDApp(t, topic, 0), startIDApp(t, topic, 0)
		s1 := startSidecar(t, Opts{AppID: appID, AppPort: a1.Port, Args: []string{"--resources-path", dir}})
		s2 := startSidecar(t, Opts{AppID: appID, AppPort: a2.Port, Args: []string{"--resources-path", dir}})
		s1.waitSubscribed(t, 1)
		s2.waitSubscribed(t, 1)
		ids := publishIDs(t, s1, topic, "u", 20)
		if tc.broadcast {
			a1.waitIDs(t, ids, 30*time.Second)
			a2.waitIDs(t, ids, 30*time.Second)
			continue
		}
		pollUntil(t, 30*time.Second, "every message delivered once", func() bool { return a1.count()+a2.count() >= len(ids) })
		time.Sleep(300 * time.Millisecond)
		if n1, n2 := a1.count(), a2.count(); n1+n2 != len(ids) || n1 == len(ids) || n2 == len(ids) {
			t.Fatalf("shared consumerID: replicas got %d and %d of %d messages, want them shared", n1, n2, len(ids))
		}
	}
}
