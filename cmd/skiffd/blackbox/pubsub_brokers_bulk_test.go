package blackbox

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// TestPubsubRedisBulkSubscribe: a broker without batches of its own
// (pubsub.redis) still serves a bulkSubscribe subscription as daprd's
// default bulk subscriber does: the messages its concurrent deliveries
// hand over are gathered into daprd's bulk envelope, and each entry's
// status decides that message (RETRY redelivers it, SUCCESS acknowledges
// it for good).
func TestPubsubRedisBulkSubscribe(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	topic := psconf.Topic("skiff-bulk")
	c := redisClient(t, addr)
	t.Cleanup(func() { c.Do(context.Background(), c.B().Del().Key(topic).Build()) })
	dir := brokerComponent(t, "pubsub.redis", "redisHost", addr, "concurrency", "10", "redeliverInterval", "200ms", "processingTimeout", "1s")

	var (
		mu       sync.Mutex
		ok       = map[string]int{}
		retried  bool
		maxBatch int
	)
	app := startSubApp(t, 0, `[{"pubsubname":"ps","topic":"`+topic+`","route":"/many","bulkSubscribe":{"enabled":true,"maxMessagesCount":10,"maxAwaitDurationMs":100}}]`,
		func(path string, ev map[string]any, _ int) (int, string) {
			mu.Lock()
			defer mu.Unlock()
			entries, _ := ev["entries"].([]any)
			maxBatch = max(maxBatch, len(entries))
			var st []map[string]string
			for _, e := range entries {
				e := e.(map[string]any)
				id, _ := e["event"].(map[string]any)["id"].(string)
				status := "SUCCESS"
				if id == "bulk-5" && !retried {
					retried, status = true, "RETRY"
				} else {
					ok[id]++
				}
				st = append(st, map[string]string{"entryId": e["entryId"].(string), "status": status})
			}
			b, _ := json.Marshal(map[string]any{"statuses": st})
			return 200, string(b)
		})
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--resources-path", dir}})
	s.waitSubscribed(t, 1)
	ids := publishIDs(t, s, topic, "bulk", 30)
	pollUntil(t, 30*time.Second, "every message acknowledged in a bulk delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if ok[id] == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // a redelivery of an acknowledged message would show now
	mu.Lock()
	defer mu.Unlock()
	if !retried {
		t.Errorf("bulk-5 was never answered RETRY")
	}
	for _, id := range ids {
		if ok[id] != 1 {
			t.Errorf("%s acknowledged %d times, want once", id, ok[id])
		}
	}
	if maxBatch < 2 {
		t.Errorf("largest batch had %d entries: messages were not gathered", maxBatch)
	}
	if d := app.deliveries("/many"); len(d) == 0 || d[0].ContentType != "application/json" || d[0].Event["type"] != "com.dapr.event.sent" {
		t.Errorf("bulk envelope: %+v", d)
	}
}
