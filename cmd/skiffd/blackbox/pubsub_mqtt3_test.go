package blackbox

import (
	"strings"
	"testing"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// TestPubsubMQTT3RoundTrip: pubsub.mqtt3 publish → delivery through the
// real skiffd (QoS 1, client id = consumerID = the app id).
func TestPubsubMQTT3RoundTrip(t *testing.T) {
	t.Parallel()
	addr := psconf.Service(t, "SKIFF_MQTT_ADDR", "Mosquitto (MQTT)")
	if !strings.Contains(addr, "://") {
		addr = "tcp://" + addr
	}
	// cleanSession: the broker forgets this test's session afterwards.
	brokerRoundTrip(t, "pubsub.mqtt3", psconf.Topic("skiff-bb"), "url", addr, "qos", "1", "cleanSession", "true")
}
