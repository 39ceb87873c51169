package blackbox

import (
	"testing"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// TestPubsubJetStreamKill: skiffd SIGKILLed with JetStream messages in
// flight (fetched ahead, not acked); after a restart every acknowledged
// publish is delivered.
func TestPubsubJetStreamKill(t *testing.T) {
	t.Parallel()
	url := natsURL(t)
	stream := psconf.Topic("skiff-bb")
	t.Cleanup(func() { natsDeleteStream(url, stream) })
	brokerKillRestart(t, "pubsub.jetstream", stream+"-t", "natsURL", url, "streamName", stream, "skiffCreateStream", "true", "ackWait", "3s")
}
