package blackbox

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBindingsMQTT3BrokerDownAtStartup: with the broker not listening
// skiffd starts, healthz names the binding, publishing answers 500
// ERR_INVOKE_OUTPUT_BINDING; once the broker is up, skiffd connects and
// subscribes by itself and messages reach the app.
func TestBindingsMQTT3BrokerDownAtStartup(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	url := "tcp://127.0.0.1:" + strconv.Itoa(port)
	app := startMQTTBindApp(t, nil)
	dir := t.TempDir()
	writeFile(t, dir, "mq.yaml", bindingYAML("mqd", "bindings.mqtt3", "url", url, "topic", "skiff/down", "consumerID", "skiff-bb-down"))
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--resources-path", dir}, NoWait: true})
	s.waitListening(10 * time.Second)
	var last Resp
	pollUntil(t, 10*time.Second, "healthz naming the binding", func() bool {
		last = s.do("GET", "/v1.0/healthz", nil)
		return last.Status == 500 && strings.Contains(string(last.Body), "mqd")
	})
	wantAPIError(t, "healthz", last, 500, "ERR_HEALTH_NOT_READY", "binding mqd: mqtt3 binding: not connected")
	wantAPIError(t, "publish while down", s.do("POST", "/v1.0/bindings/mqd", []byte(`{"operation":"create","data":1}`)),
		500, "ERR_INVOKE_OUTPUT_BINDING", "error invoking output binding mqd: failed to publish")

	mqttBindPrivateBroker(t, port)
	pollUntil(t, 30*time.Second, "healthz 204 after the broker started", func() bool {
		return s.do("GET", "/v1.0/healthz", nil).Status == 204
	})
	// The subscription follows the connection: publish until one arrives.
	pollUntil(t, 30*time.Second, "a message through the binding", func() bool {
		if r := s.do("POST", "/v1.0/bindings/mqd", []byte(`{"operation":"create","data":"after"}`)); r.Status != 204 {
			return false
		}
		for stop := time.Now().Add(500 * time.Millisecond); time.Now().Before(stop); time.Sleep(20 * time.Millisecond) {
			if _, h := app.state(`"after"`); h != nil {
				return true
			}
		}
		return false
	})
}
