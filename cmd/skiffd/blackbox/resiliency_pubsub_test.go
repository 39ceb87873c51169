package blackbox

import (
	"net/http"
	"testing"
	"time"
)

// An inbound policy on a pub/sub component bounds each delivery to the app
// with its timeout and retries it: a delivery the app sits on is cut short
// and sent again at once, instead of waiting for the app.
func TestResiliencyPubsubInboundTimeoutRetries(t *testing.T) {
	app := startFlakyApp(t, func(path string, n int, w http.ResponseWriter, r *http.Request) {
		switch path {
		case "/dapr/subscribe":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`[{"pubsubname":"pubsub","topic":"orders","route":"/orders"}]`))
		case "/orders":
			if n == 1 {
				select {
				case <-r.Context().Done():
				case <-time.After(30 * time.Second):
				}
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"SUCCESS"}`))
		default:
			w.WriteHeader(404)
		}
	})
	dir := resiliencyDir(t, map[string]string{
		"pubsub.yaml": `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.in-memory
  version: v1
`,
		"resiliency.yaml": `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: inbound
spec:
  policies:
    timeouts:
      quick: 300ms
    retries:
      again:
        duration: 10ms
        maxRetries: 3
  targets:
    components:
      pubsub:
        inbound:
          timeout: quick
          retry: again
`})
	s := startSidecar(t, Opts{AppID: "resilpubsub", AppPort: app.Port, Args: []string{"--resources-path", dir}})
	resilWaitFor(t, 20*time.Second, "subscription", func() bool { return app.Hits("/dapr/subscribe") > 0 })
	start := time.Now()
	wantStatus(t, "publish", s.do("POST", "/v1.0/publish/pubsub/orders", []byte(`{"id":1}`), "Content-Type", "application/json"), 204)
	resilWaitFor(t, 20*time.Second, "second delivery", func() bool { return app.Hits("/orders") >= 2 })
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("the retry came after %v: the first delivery was not cut by the 300ms timeout", d)
	}
	times := app.Times("/orders")
	if gap := times[1].Sub(times[0]); gap < 250*time.Millisecond {
		t.Fatalf("redelivered %v after the first attempt, before the 300ms timeout", gap)
	}
	time.Sleep(200 * time.Millisecond)
	if n := app.Hits("/orders"); n != 2 {
		t.Fatalf("%d deliveries, want 2 (the second one succeeded)", n)
	}
}
