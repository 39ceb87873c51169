package rabbitmq

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/skiffd/skiff/blocks/pubsub"
	psconf "github.com/skiffd/skiff/blocks/pubsub/conformance"
)

// live is one test's component on the shared RabbitMQ, with a unique
// consumerID and topic; everything it declares is deleted at the end.
type live struct {
	r            *RabbitMQ
	url, topic   string
	queue        string
	adm          *amqp.Channel
	mu           sync.Mutex
	got          []string
	gotCh        chan string
	block        map[string]chan struct{} // bodies whose delivery waits
	fail         bool
	active, peak atomic.Int64
	hold         time.Duration
}

func newLive(t *testing.T, md ...string) *live {
	t.Helper()
	url := psconf.Service(t, "SKIFF_AMQP_URL", "RabbitMQ")
	cid := psconf.Topic("rmq-live")
	l := &live{url: url, topic: psconf.Topic("skiff-live"), gotCh: make(chan string, 100), block: map[string]chan struct{}{}}
	l.queue = cid + "-" + l.topic
	m := map[string]string{"connectionString": url, "consumerID": cid, "publisherConfirm": "true"}
	for i := 0; i+1 < len(md); i += 2 {
		m[md[i]] = md[i+1]
	}
	c, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	if l.adm, err = c.Channel(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l.r != nil {
			l.r.Close()
		}
		ch, err := c.Channel() // a failed passive declare closes l.adm
		if err == nil {
			for _, q := range []string{l.queue, "dlq-" + l.queue} {
				_, _ = ch.QueueDelete(q, false, false, false)
			}
			_ = ch.ExchangeDelete(l.topic, false, false)
			_ = ch.ExchangeDelete("dlx-"+l.queue, false, false)
		}
		c.Close()
	})
	if l.r, err = New("live", m, nil); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *live) handle(_ context.Context, m *pubsub.Message) error {
	n := l.active.Add(1)
	defer l.active.Add(-1)
	for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
	}
	body := string(m.Data)
	l.mu.Lock()
	b := l.block[body]
	l.mu.Unlock()
	if b != nil {
		l.gotCh <- "started " + body
		<-b
	}
	time.Sleep(l.hold)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, body)
	l.gotCh <- body
	if l.fail {
		return errors.New("refused")
	}
	return nil
}

func (l *live) subscribe(t *testing.T, md map[string]string) {
	t.Helper()
	if err := l.r.Subscribe(t.Context(), pubsub.SubscribeRequest{Topic: l.topic, Metadata: md}, l.handle); err != nil {
		t.Fatal(err)
	}
}

func (l *live) publish(t *testing.T, body string, md ...string) {
	t.Helper()
	m := map[string]string{}
	for i := 0; i+1 < len(md); i += 2 {
		m[md[i]] = md[i+1]
	}
	if err := l.r.Publish(t.Context(), &pubsub.PublishRequest{Topic: l.topic, Data: []byte(body), Metadata: m}); err != nil {
		t.Fatal(err)
	}
}

// wait reads deliveries until want arrives.
func (l *live) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case s := <-l.gotCh:
			if s == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q; got %v", want, l.delivered())
		}
	}
}

func (l *live) delivered() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got)
}

// TestLiveDeadLetter: with enableDeadLetter a refused message (no
// requeueInFailure) lands in daprd's dlq-{queue} through dlx-{queue}.
func TestLiveDeadLetter(t *testing.T) {
	l := newLive(t, "enableDeadLetter", "true", "maxLen", "100")
	l.fail = true
	l.subscribe(t, nil)
	l.publish(t, "poison")
	l.wait(t, "poison")
	var d amqp.Delivery
	pollLive(t, "the dead-lettered message", func() bool {
		var ok bool
		var err error
		d, ok, err = l.adm.Get("dlq-"+l.queue, true)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	if string(d.Body) != "poison" {
		t.Fatalf("dead letter %q", d.Body)
	}
	if xd, _ := d.Headers["x-death"].([]any); len(xd) == 0 {
		t.Fatalf("no x-death header: %v", d.Headers)
	}
	if got := l.delivered(); len(got) != 1 {
		t.Fatalf("refused message delivered again: %v", got)
	}
}

// TestLiveTTLAndMaxLen: a per-message ttl expires a message waiting in the
// queue; maxLen keeps the newest messages of a full queue (RabbitMQ drops
// the oldest), as daprd's x-max-length does.
func TestLiveTTLAndMaxLen(t *testing.T) {
	l := newLive(t, "concurrencyMode", "single", "prefetchCount", "1", "maxLen", "2")
	l.block["m1"], l.block["m4"] = make(chan struct{}), make(chan struct{})
	l.subscribe(t, nil)
	l.publish(t, "m1")
	l.wait(t, "started m1")
	l.publish(t, "m2", "ttl", "50ms")
	l.publish(t, "m3", "ttlInSeconds", "60")
	time.Sleep(300 * time.Millisecond)
	close(l.block["m1"])
	l.wait(t, "m3")
	l.publish(t, "m4")
	l.wait(t, "started m4")
	for _, m := range []string{"m5", "m6", "m7", "m8"} {
		l.publish(t, m)
	}
	close(l.block["m4"])
	l.wait(t, "m8")
	if got := l.delivered(); !slices.Equal(got, []string{"m1", "m3", "m4", "m7", "m8"}) {
		t.Fatalf("delivered %v, want m1 m3 m4 m7 m8", got)
	}
}

// TestLiveConcurrency: concurrencyMode parallel (daprd's default) hands
// out up to prefetchCount messages at once; single hands out one, in order.
func TestLiveConcurrency(t *testing.T) {
	for _, mode := range []string{"parallel", "single"} {
		t.Run(mode, func(t *testing.T) {
			l := newLive(t, "concurrencyMode", mode, "prefetchCount", "4")
			l.hold = 100 * time.Millisecond
			l.subscribe(t, nil)
			var want []string
			for i := range 8 {
				want = append(want, string(rune('a'+i)))
				l.publish(t, want[i])
			}
			pollLive(t, "8 deliveries", func() bool { return len(l.delivered()) == 8 })
			got := l.delivered()
			peak := l.peak.Load()
			if mode == "single" && (peak != 1 || !slices.Equal(got, want)) {
				t.Fatalf("single: peak %d, order %v", peak, got)
			}
			if mode == "parallel" && (peak < 2 || peak > 4) {
				t.Fatalf("parallel: peak %d, want 2..4 (prefetchCount 4)", peak)
			}
		})
	}
}

// TestLiveTopicExchange: exchangeKind topic with the subscription's
// routingKey list ("keyA," binds keyA and the empty key); publishing
// without publisherConfirm (daprd's default; skiffd's is true).
func TestLiveTopicExchange(t *testing.T) {
	l := newLive(t, "exchangeKind", "topic", "publisherConfirm", "false")
	l.subscribe(t, map[string]string{"routingKey": "keyA,"})
	l.publish(t, "a", "routingKey", "keyA")
	l.publish(t, "b", "routingKey", "keyB")
	l.publish(t, "c")
	l.wait(t, "c")
	time.Sleep(200 * time.Millisecond)
	got := l.delivered()
	slices.Sort(got) // parallel: no order
	if !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("delivered %v, want a c", got)
	}
}

// TestLiveConnectionAndQueue: heartBeat is negotiated;
// autoAck does not redeliver a refused message; durable false and
// deletedWhenUnused false leave a transient queue that outlives the
// component.
func TestLiveConnectionAndQueue(t *testing.T) {
	l := newLive(t, "heartBeat", "3", "clientName", "skiff-live", "autoAck", "true", "durable", "false", "deletedWhenUnused", "false")
	l.fail = true
	l.subscribe(t, nil)
	l.r.mu.Lock()
	cfg := l.r.conn.Config
	l.r.mu.Unlock()
	// (clientName is checked in TestTLSConfig: the negotiated Config
	// does not keep the client properties.)
	if cfg.Heartbeat != 3*time.Second {
		t.Fatalf("negotiated heartbeat %s, want 3s", cfg.Heartbeat)
	}
	l.publish(t, "once")
	l.wait(t, "once")
	time.Sleep(300 * time.Millisecond)
	if got := l.delivered(); len(got) != 1 {
		t.Fatalf("autoAck: delivered %v", got)
	}
	l.r.Close()
	q, err := l.adm.QueueDeclarePassive(l.queue, false, false, false, false, nil)
	if err != nil {
		t.Fatalf("queue gone after Close: %v", err)
	}
	if q.Messages != 0 {
		t.Fatalf("autoAck left %d messages", q.Messages)
	}
}

func pollLive(t *testing.T, what string, f func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if f() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
