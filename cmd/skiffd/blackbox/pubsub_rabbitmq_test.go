package blackbox

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// TestPubsubRabbitMQRoundTrip: pubsub.rabbitmq publish → delivery through
// the real skiffd, with the exchange and queue daprd would declare (the
// component YAML of Dapr's documentation: durable, not auto-deleted).
func TestPubsubRabbitMQRoundTrip(t *testing.T) {
	t.Parallel()
	url := amqpURL(t)
	topic := psconf.Topic("skiff-bb")
	appID := psconf.Topic("rmq")
	t.Cleanup(func() { amqpDelete(url, topic, appID+"-"+topic) })
	dir := brokerComponent(t, "pubsub.rabbitmq", "connectionString", url, "durable", "true", "deletedWhenUnused", "false", "deliveryMode", "2", "requeueInFailure", "true")
	app := startIDApp(t, topic, 0)
	s := startSidecar(t, Opts{AppID: appID, AppPort: app.Port, Args: []string{"--resources-path", dir}})
	s.waitSubscribed(t, 1)
	ids := publishIDs(t, s, topic, "rt", 20)
	app.waitIDs(t, ids, 30*time.Second)
	// The queue is named {consumerID}-{topic} (consumerID = app id).
	c, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclarePassive(appID+"-"+topic, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeClassic}); err != nil {
		t.Fatalf("queue %s-%s: %v", appID, topic, err)
	}
}
