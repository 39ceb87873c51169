package blackbox

import (
	"testing"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// TestPubsubJetStreamRoundTrip: pubsub.jetstream publish → delivery through
// the real skiffd (stream created by the skiffCreateStream extension).
func TestPubsubJetStreamRoundTrip(t *testing.T) {
	t.Parallel()
	url := natsURL(t)
	stream := psconf.Topic("skiff-bb")
	t.Cleanup(func() { natsDeleteStream(url, stream) })
	brokerRoundTrip(t, "pubsub.jetstream", stream+"-t", "natsURL", url, "streamName", stream, "skiffCreateStream", "true")
}
