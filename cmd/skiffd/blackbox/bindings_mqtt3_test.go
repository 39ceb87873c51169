package blackbox

import (
	"strings"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// TestBindingsMQTT3: one bindings.mqtt3 component used both ways. What the
// app publishes through /v1.0/bindings/{name} and what a plain client
// publishes reach the app at the binding's route with the topic header;
// a message the app fails (500) is delivered again (backOffMaxRetries,
// daprd's 5 s apart) and acknowledged only once the app answered 2xx.
func TestBindingsMQTT3(t *testing.T) {
	t.Parallel()
	url := mqttBindAddr(t)
	topic := conformance.UniqueName("skiff/bb/")
	id := conformance.UniqueName("skiff-bb-")
	t.Cleanup(func() { mqttBindForget(url, id+"-consumer") })
	app := startMQTTBindApp(t, func(body string, try int) bool { return body == `"fail-once"` && try == 1 })
	dir := t.TempDir()
	writeFile(t, dir, "mq.yaml", bindingYAML("mq", "bindings.mqtt3", "url", url, "topic", topic,
		"consumerID", id, "qos", "1", "retain", "false", "cleanSession", "false", "backOffMaxRetries", "3", "route", "/mqin"))
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--resources-path", dir}})

	// The consumer subscribes once connected: publish probes until one
	// arrives.
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		probe := "probe" + strings.Repeat("!", i%3) + time.Now().Format("150405.000000")
		mqttBindPublish(t, url, topic, probe)
		ok := false
		for stop := time.Now().Add(500 * time.Millisecond); time.Now().Before(stop); time.Sleep(20 * time.Millisecond) {
			if _, h := app.state(probe); h != nil {
				ok = true
				break
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery to the app within 30s; stderr:\n%s", tail(s.Stderr(), 2000))
		}
	}

	wantStatus(t, "publish", s.do("POST", "/v1.0/bindings/mq", []byte(`{"operation":"create","data":{"n":1}}`)), 204)
	h := app.waitTaken(t, `{"n":1}`, 30*time.Second)
	if h.Get("Topic") != topic {
		t.Errorf("topic header %q, want %q", h.Get("Topic"), topic)
	}
	wantStatus(t, "publish the message the app fails once", s.do("POST", "/v1.0/bindings/mq", []byte(`{"operation":"create","data":"fail-once"}`)), 204)
	app.waitTaken(t, `"fail-once"`, 30*time.Second)
	if n, _ := app.state(`"fail-once"`); n != 2 {
		t.Errorf("the failed message was delivered %d times, want 2", n)
	}
	wantAPIError(t, "unsupported operation", s.do("POST", "/v1.0/bindings/mq", []byte(`{"operation":"get"}`)), 500,
		"ERR_INVOKE_OUTPUT_BINDING", "does not support operation get")
}
