package blackbox

import (
	"context"
	"strings"
	"testing"
	"time"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// TestPubsubRedisRoundTrip: pubsub.redis (Redis Streams) publish → delivery
// through the real skiffd, in daprd's layout (stream = topic); an entry
// written the daprd way by a plain client (fields data and metadata) is
// delivered too.
func TestPubsubRedisRoundTrip(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	topic := psconf.Topic("skiff-bb")
	c := redisClient(t, addr)
	t.Cleanup(func() { c.Do(context.Background(), c.B().Del().Key(topic).Build()) })
	app := brokerRoundTrip(t, "pubsub.redis", topic, "redisHost", addr)
	ctx := context.Background()
	entries, err := c.Do(ctx, c.B().Xrange().Key(topic).Start("-").End("+").Build()).AsXRange()
	if err != nil || len(entries) != 20 {
		t.Fatalf("XRANGE %s: %d entries, %v; want 20", topic, len(entries), err)
	}
	if f := entries[0].FieldValues; !strings.Contains(f["data"], `"id":"rt-0"`) || f["metadata"] == "" {
		t.Fatalf("entry layout: %v", f)
	}
	ev := `{"specversion":"1.0","id":"from-daprd","source":"daprd","type":"com.dapr.event.sent","datacontenttype":"application/json","data":{"n":1},"topic":"` + topic + `","pubsubname":"ps"}`
	if err := c.Do(ctx, c.B().Xadd().Key(topic).Id("*").FieldValue().FieldValue("data", ev).FieldValue("metadata", "{}").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	app.waitIDs(t, []string{"from-daprd"}, 30*time.Second)
}
