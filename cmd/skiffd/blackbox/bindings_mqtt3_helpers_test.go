package blackbox

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/skiffd/skiff/blocks/state/conformance"
)

// mqttBindAddr is the shared Mosquitto (SKIFF_MQTT_ADDR) as a broker URL;
// skipped when down, a failure with CI=true.
func mqttBindAddr(t testing.TB) string {
	return "tcp://" + conformance.Service(t, "Mosquitto", "SKIFF_MQTT_ADDR", "127.0.0.1:1883", "")
}

// mqttBindPublish publishes one QoS 1 message with a plain client.
func mqttBindPublish(t testing.TB, url, topic, payload string) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID(conformance.UniqueName("skiff-bb-pub-")).SetConnectTimeout(10 * time.Second)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect to %s: %v", url, tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// mqttBindForget clears the broker's session of a client id (cleanup).
func mqttBindForget(url, clientID string) {
	o := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetCleanSession(true).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(o)
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(100)
	}
}

// mqttBindApp is an in-test app for input bindings: it answers OPTIONS
// 200 and POST with fail(body, try) ? 500 : 200, counting the deliveries
// of each body.
type mqttBindApp struct {
	Port  int
	mu    sync.Mutex
	tries map[string]int
	took  map[string]http.Header
}

func startMQTTBindApp(t *testing.T, fail func(body string, try int) bool) *mqttBindApp {
	t.Helper()
	a := &mqttBindApp{tries: map[string]int{}, took: map[string]http.Header{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.Port = ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" {
			return
		}
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.tries[string(b)]++
		try := a.tries[string(b)]
		failed := fail != nil && fail(string(b), try)
		if !failed {
			a.took[string(b)] = r.Header.Clone()
		}
		a.mu.Unlock()
		if failed {
			w.WriteHeader(500)
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return a
}

// state returns how often body was delivered and the headers of the
// delivery the app took (nil if none).
func (a *mqttBindApp) state(body string) (int, http.Header) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tries[body], a.took[body]
}

// waitTaken polls until the app took body.
func (a *mqttBindApp) waitTaken(t *testing.T, body string, d time.Duration) http.Header {
	t.Helper()
	var h http.Header
	pollUntil(t, d, "the app to take "+body, func() bool {
		_, h = a.state(body)
		return h != nil
	})
	return h
}

// mqttBindPrivateBroker starts a mosquitto of our own on port (for tests
// that need a broker down, then up), killed at the end of the test.
func mqttBindPrivateBroker(t testing.TB, port int) {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mosquitto not installed")
		}
		t.Skip("mosquitto not installed")
	}
	cmd := exec.Command(bin, "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pollUntil(t, 20*time.Second, "a private mosquitto", func() bool {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}
