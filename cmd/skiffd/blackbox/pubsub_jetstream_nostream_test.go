package blackbox

import (
	"strings"
	"testing"
	"time"

	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// TestPubsubJetStreamNoStream: a streamName that does not exist (daprd
// reports healthy and fails every publish) makes healthz answer not ready,
// naming the component, and publishes fail with ERR_PUBSUB_PUBLISH_MESSAGE.
func TestPubsubJetStreamNoStream(t *testing.T) {
	t.Parallel()
	url := natsURL(t)
	stream := psconf.Topic("skiff-none")
	dir := brokerComponent(t, "pubsub.jetstream", "natsURL", url, "streamName", stream)
	s := startSidecar(t, Opts{NoWait: true, Args: []string{"--resources-path", dir}})
	s.waitListening(10 * time.Second)
	var r Resp
	pollUntil(t, 10*time.Second, "healthz not ready", func() bool {
		r = s.do("GET", "/v1.0/healthz", nil)
		return r.Status == 500
	})
	if !strings.Contains(string(r.Body)+s.Stderr(), stream) {
		t.Errorf("neither healthz (%s) nor the log names the missing stream %s", r.Body, stream)
	}
	wantAPIError(t, "publish", s.do("POST", "/v1.0/publish/ps/"+stream+"-t", []byte(`{"a":1}`), "Content-Type", "application/json"), 500, "ERR_PUBSUB_PUBLISH_MESSAGE")
}
