package blackbox

import (
	"context"
	"testing"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// TestPubsubRedisKill: skiffd SIGKILLed with Redis Streams messages in
// flight; after a restart every acknowledged publish is delivered.
func TestPubsubRedisKill(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	topic := psconf.Topic("skiff-bb")
	c := redisClient(t, addr)
	t.Cleanup(func() { c.Do(context.Background(), c.B().Del().Key(topic).Build()) })
	brokerKillRestart(t, "pubsub.redis", topic, "redisHost", addr)
}
