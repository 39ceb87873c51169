package blackbox

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	amqp "github.com/rabbitmq/amqp091-go"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// Helpers for the broker scenarios (pubsub_redis_*, pubsub_jetstream_*, …).

// brokerComponent writes a pub/sub component "ps" of type typ with the
// metadata pairs (name, value, …) into a new resources dir.
func brokerComponent(t testing.TB, typ string, md ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ps\nspec:\n  type: %s\n  version: v1\n  metadata:\n", typ)
	for i := 0; i+1 < len(md); i += 2 {
		fmt.Fprintf(&b, "  - name: %s\n    value: %q\n", md[i], md[i+1])
	}
	dir := t.TempDir()
	writeFile(t, dir, "ps.yaml", b.String())
	return dir
}

// idApp is an app that subscribes "ps"/topic at /in and records the
// CloudEvent ids it acknowledged.
type idApp struct {
	*subApp
	mu    sync.Mutex
	acked map[string]int
}

func startIDApp(t testing.TB, topic string, delay time.Duration) *idApp {
	a := &idApp{acked: map[string]int{}}
	a.subApp = startSubApp(t, 0, `[{"pubsubname":"ps","topic":"`+topic+`","route":"/in"}]`,
		func(_ string, ev map[string]any, _ int) (int, string) {
			if delay > 0 {
				time.Sleep(delay)
			}
			id, _ := ev["id"].(string)
			a.mu.Lock()
			a.acked[id]++
			a.mu.Unlock()
			return 200, ""
		})
	return a
}

// waitIDs polls until every id was delivered at least once.
func (a *idApp) waitIDs(t testing.TB, ids []string, d time.Duration) {
	t.Helper()
	pollUntil(t, d, "every published message delivered", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, id := range ids {
			if a.acked[id] == 0 {
				return false
			}
		}
		return true
	})
}

func (a *idApp) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.acked)
}

// publishIDs publishes n CloudEvents with ids prefix-i and returns the ids.
func publishIDs(t testing.TB, s *Sidecar, topic, prefix string, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
		body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"t","type":"t","datacontenttype":"application/json","data":{"n":%d}}`, ids[i], i)
		s.publish(t, "ps", topic, body, "Content-Type", "application/cloudevents+json")
	}
	return ids
}

// brokerRoundTrip: publish through skiffd, delivery to the app through the
// broker. It returns the app (still running).
func brokerRoundTrip(t *testing.T, typ, topic string, md ...string) *idApp {
	dir := brokerComponent(t, typ, md...)
	app := startIDApp(t, topic, 0)
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--resources-path", dir}})
	s.waitSubscribed(t, 1)
	ids := publishIDs(t, s, topic, "rt", 20)
	app.waitIDs(t, ids, 30*time.Second)
	return app
}

// brokerKillRestart: messages acknowledged by the publish API are all
// delivered even though skiffd is SIGKILLed while delivering them.
func brokerKillRestart(t *testing.T, typ, topic string, md ...string) {
	dir := brokerComponent(t, typ, md...)
	app := startIDApp(t, topic, 50*time.Millisecond)
	appID := psconf.Topic("kill")
	s := startSidecar(t, Opts{AppID: appID, AppPort: app.Port, Args: []string{"--resources-path", dir}})
	s.waitSubscribed(t, 1)
	ids := publishIDs(t, s, topic, "k", 100)
	pollUntil(t, 20*time.Second, "some deliveries before the kill", func() bool { return app.count() >= 5 })
	_ = s.cmd.Process.Kill()
	<-s.done
	s.MarkStopped()
	t.Logf("%d of %d messages delivered when skiffd was killed", app.count(), len(ids))
	s2 := startSidecar(t, Opts{AppID: appID, AppPort: app.Port, Args: []string{"--resources-path", dir}})
	s2.waitSubscribed(t, 1)
	app.waitIDs(t, ids, 60*time.Second)
}

// natsURL is the shared NATS JetStream (SKIFF_NATS_URL).
func natsURL(t *testing.T) string {
	return psconf.Service(t, "SKIFF_NATS_URL", "NATS JetStream")
}

// natsDeleteStream removes a test's stream.
func natsDeleteStream(url, name string) {
	nc, err := nats.Connect(url)
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = js.DeleteStream(ctx, name)
}

// amqpURL is the shared RabbitMQ (SKIFF_AMQP_URL).
func amqpURL(t *testing.T) string {
	return psconf.Service(t, "SKIFF_AMQP_URL", "RabbitMQ")
}

// amqpDelete removes a test's exchange and queue.
func amqpDelete(url, exchange, queue string) {
	c, err := amqp.Dial(url)
	if err != nil {
		return
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		return
	}
	_, _ = ch.QueueDelete(queue, false, false, false)
	_ = ch.ExchangeDelete(exchange, false, false)
}
