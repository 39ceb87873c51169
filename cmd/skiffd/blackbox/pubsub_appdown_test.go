package blackbox

import (
	"strconv"
	"testing"
)

// TestPubsubAppDown: messages published while the app is not up yet wait
// and are all delivered, in order, once it listens; the same when the app
// goes away and comes back. A full queue answers 500
// ERR_PUBSUB_PUBLISH_MESSAGE rather than dropping.
func TestPubsubAppDown(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ps.yaml", `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.in-memory
  version: v1
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: tiny
spec:
  type: pubsub.in-memory
  version: v1
  metadata:
  - name: maxQueueSize
    value: "3"
`)
	port := freePort(t)
	s := startSidecar(t, Opts{AppPort: port, NoWait: true, Args: []string{"--resources-path", dir}})
	s.waitListening(10e9)

	for i := range 3 {
		s.publish(t, "tiny", "t", strconv.Itoa(i))
	}
	r := s.do("POST", "/v1.0/publish/tiny/t", []byte("one too many"))
	wantAPIError(t, "publish to a full queue", r, 500, "ERR_PUBSUB_PUBLISH_MESSAGE", "error when publishing to topic t in pubsub tiny", "full")

	const first = 50
	for i := range first {
		s.publish(t, "pubsub", "orders", strconv.Itoa(i))
	}
	subs := `[{"pubsubname":"pubsub","topic":"orders","route":"/orders"}]`
	app := startSubApp(t, port, subs, nil)
	s.waitHealthy(20e9)
	got := app.waitFor("/orders", first)
	for i, d := range got[:first] {
		if d.Event["data"] != strconv.Itoa(i) {
			t.Fatalf("delivery %d carries %v, want %d", i, d.Event["data"], i)
		}
	}

	// The app goes away; what is published meanwhile waits for it.
	app.Stop()
	const second = 20
	for i := range second {
		s.publish(t, "pubsub", "orders", strconv.Itoa(first+i))
	}
	app2 := startSubApp(t, port, subs, nil)
	// At-least-once: the last message of the first batch may come again if
	// its acknowledgement was cut by the stop; skip such repeats.
	for want := second; ; {
		all := app2.waitFor("/orders", want)
		got = got[:0]
		for _, d := range all {
			if n, _ := strconv.Atoi(d.Event["data"].(string)); n >= first {
				got = append(got, d)
			}
		}
		if len(got) >= second {
			break
		}
		want = len(all) + 1
	}
	for i, d := range got[:second] {
		if d.Event["data"] != strconv.Itoa(first+i) {
			t.Fatalf("after the restart, delivery %d carries %v, want %d", i, d.Event["data"], first+i)
		}
	}
}
