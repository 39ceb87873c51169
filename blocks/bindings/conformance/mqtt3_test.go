package conformance

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/blocks/bindings/mqtt3"
	stateconf "github.com/skiffd/skiff/blocks/state/conformance"
)

// inbox records what an input binding delivered; fail decides, per
// delivery, whether the app fails it.
type inbox struct {
	mu    sync.Mutex
	got   []string
	tries map[string]int
	fail  func(payload string, try int) bool
	ch    chan struct{}
}

func newInbox(fail func(string, int) bool) *inbox {
	return &inbox{tries: map[string]int{}, fail: fail, ch: make(chan struct{}, 1000)}
}

func (in *inbox) handler(_ context.Context, ev *bindings.ReadResponse) ([]byte, error) {
	in.mu.Lock()
	p := string(ev.Data)
	in.tries[p]++
	try := in.tries[p]
	failed := in.fail != nil && in.fail(p, try)
	if !failed {
		in.got = append(in.got, p)
	}
	in.mu.Unlock()
	in.ch <- struct{}{}
	if failed {
		return nil, errors.New("app failed")
	}
	return nil, nil
}

// waitFor polls until every payload in want was taken.
func (in *inbox) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		in.mu.Lock()
		seen := map[string]bool{}
		for _, g := range in.got {
			seen[g] = true
		}
		missing := 0
		for _, w := range want {
			if !seen[w] {
				missing++
			}
		}
		in.mu.Unlock()
		if missing == 0 {
			return
		}
		select {
		case <-in.ch:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			in.mu.Lock()
			defer in.mu.Unlock()
			t.Fatalf("after 30s the app took %v, want %v (tries %v)", in.got, want, in.tries)
		}
	}
}

func mqttURL(t *testing.T) string {
	return "tcp://" + stateconf.Service(t, "Mosquitto", "SKIFF_MQTT_ADDR", "127.0.0.1:1883", "")
}

// forgetSession clears the broker's session of a client id.
func forgetSession(url, clientID string) {
	o := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).SetCleanSession(true).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(o)
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(100)
	}
}

func newMQTT(t *testing.T, md map[string]string) *mqtt3.Binding {
	t.Helper()
	b, err := mqtt3.New("mq", md, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMQTT3(t *testing.T) {
	url := mqttURL(t)
	old := mqtt3.RetryInterval
	mqtt3.RetryInterval = 50 * time.Millisecond
	t.Cleanup(func() { mqtt3.RetryInterval = old })

	t.Run("publish, deliver, redeliver what the app failed", func(t *testing.T) {
		topic := stateconf.UniqueName("skiff/bind/")
		id := stateconf.UniqueName("skiff-")
		t.Cleanup(func() { forgetSession(url, id+"-consumer") })
		b := newMQTT(t, map[string]string{"url": url, "topic": topic, "consumerID": id, "backOffMaxRetries": "-1"})
		defer b.Close()
		Operations(t, b, "create")
		// The app fails the first 2 deliveries of every message and every
		// 5th message's first.
		in := newInbox(func(p string, try int) bool { return try <= 2 || (p == "m5" && try == 1) })
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := b.Read(ctx, in.handler); err != nil {
			t.Fatal(err)
		}
		WaitReady(t, b)
		waitSubscribed(t, b, in, topic)
		var want []string
		for _, p := range []string{"m1", "m2", "m3", "m4", "m5"} {
			MustInvoke(t, b, "create", []byte(p), nil)
			want = append(want, p)
		}
		in.waitFor(t, want...)
		in.mu.Lock()
		defer in.mu.Unlock()
		for _, p := range want {
			if in.tries[p] < 3 {
				t.Fatalf("%s taken after %d tries, want 3", p, in.tries[p])
			}
		}
	})

	t.Run("unacknowledged message redelivered to the next session", func(t *testing.T) {
		topic := stateconf.UniqueName("skiff/bind/")
		id := stateconf.UniqueName("skiff-")
		t.Cleanup(func() { forgetSession(url, id+"-consumer") })
		md := map[string]string{"url": url, "topic": topic, "consumerID": id, "backOffMaxRetries": "0", "cleanSession": "false"}
		b := newMQTT(t, md)
		failing := newInbox(func(string, int) bool { return true })
		ctx, cancel := context.WithCancel(context.Background())
		if err := b.Read(ctx, failing.handler); err != nil {
			t.Fatal(err)
		}
		WaitReady(t, b)
		waitSubscribed(t, b, failing, topic)
		MustInvoke(t, b, "create", []byte("keep-me"), nil)
		deadline := time.Now().Add(30 * time.Second)
		for {
			failing.mu.Lock()
			n := failing.tries["keep-me"]
			failing.mu.Unlock()
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the message never reached the failing app")
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		b.Close()

		b2 := newMQTT(t, md)
		defer b2.Close()
		in := newInbox(nil)
		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		if err := b2.Read(ctx2, in.handler); err != nil {
			t.Fatal(err)
		}
		in.waitFor(t, "keep-me")
	})

	t.Run("topic metadata overrides the component's", func(t *testing.T) {
		topic := stateconf.UniqueName("skiff/bind/")
		id := stateconf.UniqueName("skiff-")
		t.Cleanup(func() { forgetSession(url, id+"-consumer") })
		reader := newMQTT(t, map[string]string{"url": url, "topic": topic, "consumerID": id})
		defer reader.Close()
		in := newInbox(nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := reader.Read(ctx, in.handler); err != nil {
			t.Fatal(err)
		}
		writer := newMQTT(t, map[string]string{"url": url, "topic": "skiff/unused", "consumerID": id + "w"})
		defer writer.Close()
		WaitReady(t, writer)
		WaitReady(t, reader)
		waitSubscribedVia(t, writer, in, topic)
		MustInvoke(t, writer, "create", []byte("routed"), map[string]string{"topic": topic})
		in.waitFor(t, "routed")
	})
}

// waitSubscribed publishes probes until one arrives: the subscription is
// made by the consumer's OnConnect, after Ready may already be true.
func waitSubscribed(t *testing.T, b *mqtt3.Binding, in *inbox, topic string) {
	t.Helper()
	waitSubscribedVia(t, b, in, topic)
}

func waitSubscribedVia(t *testing.T, pub *mqtt3.Binding, in *inbox, topic string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; ; i++ {
		p := "probe-" + itoa(i)
		in.mu.Lock()
		// Probes are never failed by the app.
		prev := in.fail
		in.fail = func(s string, try int) bool { return !strings.HasPrefix(s, "probe-") && prev != nil && prev(s, try) }
		in.mu.Unlock()
		MustInvoke(t, pub, "create", []byte(p), map[string]string{"topic": topic})
		stop := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(stop) {
			in.mu.Lock()
			n := in.tries[p]
			in.mu.Unlock()
			if n > 0 {
				in.mu.Lock()
				in.fail = prev
				in.mu.Unlock()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		in.mu.Lock()
		in.fail = prev
		in.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the subscription did not start within 30s")
		}
	}
}

func TestMQTT3Down(t *testing.T) {
	b := newMQTT(t, map[string]string{"url": "tcp://" + DeadAddr(), "topic": "t", "consumerID": "skiff-down"})
	Down(t, b, "create", nil)
}

func TestMQTT3BadMetadata(t *testing.T) {
	for _, md := range []map[string]string{
		{"topic": "t", "consumerID": "c"},
		{"url": "tcp://x:1", "consumerID": "c"},
		{"url": "tcp://x:1", "topic": "t"},
		{"url": "tcp://x:1", "topic": "t", "consumerID": "c", "caCert": "not pem"},
		{"url": "tcp://x:1", "topic": "t", "consumerID": "c", "backOffMaxRetries": "many"},
		{"url": "tcp://x:1", "topic": "t", "consumerID": "c", "retain": "perhaps"},
	} {
		if b, err := mqtt3.New("bad", md, nil); err == nil {
			b.Close()
			t.Fatalf("metadata %v accepted", md)
		}
	}
}
