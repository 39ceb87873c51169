package blackbox

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// TestPubsubRabbitMQDeadLetter: with enableDeadLetter, a message the app
// refuses (500, no requeueInFailure) is not redelivered: RabbitMQ moves it
// to daprd's dead-letter queue dlq-{consumerID}-{topic}, CloudEvent intact.
func TestPubsubRabbitMQDeadLetter(t *testing.T) {
	t.Parallel()
	url := amqpURL(t)
	topic := psconf.Topic("skiff-dlq")
	appID := psconf.Topic("dlq")
	queue := appID + "-" + topic
	t.Cleanup(func() {
		amqpDelete(url, topic, queue)
		amqpDelete(url, "dlx-"+queue, "dlq-"+queue)
	})
	dir := brokerComponent(t, "pubsub.rabbitmq", "connectionString", url, "enableDeadLetter", "true", "deletedWhenUnused", "false")
	var calls atomic.Int64
	app := startSubApp(t, 0, `[{"pubsubname":"ps","topic":"`+topic+`","route":"/in"}]`,
		func(string, map[string]any, int) (int, string) { calls.Add(1); return 500, "" })
	s := startSidecar(t, Opts{AppID: appID, AppPort: app.Port, Args: []string{"--resources-path", dir}})
	s.waitSubscribed(t, 1)
	publishIDs(t, s, topic, "poison", 1)
	c, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	var d amqp.Delivery
	pollUntil(t, 20*time.Second, "the message in dlq-"+queue, func() bool {
		var ok bool
		d, ok, err = ch.Get("dlq-"+queue, true)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	var ev map[string]any
	if err := json.Unmarshal(d.Body, &ev); err != nil || ev["id"] != "poison-0" {
		t.Fatalf("dead letter %s (%v)", d.Body, err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("the app was called %d times, want 1 (no redelivery)", n)
	}
}
