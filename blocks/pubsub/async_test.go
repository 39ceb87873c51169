package pubsub

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffd/skiff/dataplane/router"
)

// asyncBroker completes PublishAsync at once with err, as a batching broker
// would later from its publisher; it records what it was handed.
type asyncBroker struct {
	err   error
	got   []PublishRequest
	async bool
}

func (b *asyncBroker) Publish(context.Context, *PublishRequest) error { return b.err }
func (b *asyncBroker) Subscribe(context.Context, SubscribeRequest, Handler) error {
	return errors.New("not here")
}
func (b *asyncBroker) Features() Features { return 0 }
func (b *asyncBroker) Close() error       { return nil }

func (b *asyncBroker) InlineSafe() bool     { return false }
func (b *asyncBroker) AsyncPublishes() bool { return b.async }
func (b *asyncBroker) PublishAsync(req *PublishRequest, done func(error)) {
	b.got = append(b.got[:0], *req)
	done(b.err)
}

type suspender struct {
	resumed int
	fn      func()
}

func (s *suspender) Suspend(*router.Ctx) func() { return s.fn }
func (s *suspender) resume()                    { s.resumed++ }

func publishRaw(topic, body string) []byte {
	return []byte("POST /v1.0/publish/ps/" + topic + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// A publish to an AsyncPublisher runs on the loop, suspended until the
// broker completes it: 204, or daprd's 500 ERR_PUBSUB_PUBLISH_MESSAGE; the
// broker gets the envelope and the interned topic.
func TestPublishAsync(t *testing.T) {
	b := &asyncBroker{async: true}
	api, err := New(Config{AppID: "app"}, []Entry{{Name: "ps", Type: "pubsub.redis", Component: b}})
	if err != nil {
		t.Fatal(err)
	}
	tbl := router.New()
	tbl.MustAdd(api.Routes()...)
	sus := &suspender{}
	sus.fn = sus.resume
	var c router.Ctx
	publish := func(raw []byte) {
		c.Reset()
		if _, err := c.Req.Parse(raw, 8192); err != nil {
			t.Fatal(err)
		}
		c.Body = raw[len(raw)-len(`{"a":1}`):]
		c.Suspender = sus
		route, _ := tbl.Match(c.Req.MethodID, c.Req.Path(), &c)
		route.Handler(&c)
	}
	publish(publishRaw("orders", `{"a":1}`))
	if sus.resumed != 1 || c.StatusCode() != 204 {
		t.Fatalf("resumed %d, status %d: want one resume and 204", sus.resumed, c.StatusCode())
	}
	if len(b.got) != 1 || b.got[0].Topic != "orders" || !strings.Contains(string(b.got[0].Data), `"data":{"a":1}`) {
		t.Fatalf("broker got %+v", b.got)
	}
	b.err = errors.New("redis is down")
	publish(publishRaw("orders", `{"a":1}`))
	if sus.resumed != 2 || c.StatusCode() != 500 || !strings.Contains(string(c.RespBody), "ERR_PUBSUB_PUBLISH_MESSAGE") ||
		!strings.Contains(string(c.RespBody), "redis is down") {
		t.Fatalf("resumed %d, status %d, body %s", sus.resumed, c.StatusCode(), c.RespBody)
	}
	// Refused before the broker: no suspension, the usual answer.
	b.got = nil
	raw := []byte("POST /v1.0/publish/ps/orders?metadata.rawPayload=maybe HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
	publish(raw)
	if sus.resumed != 2 || c.StatusCode() != 400 || len(b.got) != 0 {
		t.Fatalf("bad metadata: resumed %d, status %d, broker got %d", sus.resumed, c.StatusCode(), len(b.got))
	}
	if raceEnabled {
		return
	}
	b.err = nil
	ok := publishRaw("orders", `{"a":1}`)
	// The envelope and its copy handed to the broker are the publish's
	// own allocations; the suspension adds none.
	n := testing.AllocsPerRun(200, func() { publish(ok) })
	if n > 1 {
		t.Errorf("%v allocations per asynchronous publish, want 1 (the message handed to the broker)", n)
	}
}

// A decorator over a component without asynchronous publishing says so:
// the block then publishes on the worker pool.
func TestPublishAsyncOff(t *testing.T) {
	b := &asyncBroker{async: false}
	api, err := New(Config{AppID: "app"}, []Entry{{Name: "ps", Type: "pubsub.redis", Component: b}})
	if err != nil {
		t.Fatal(err)
	}
	if api.Lookup([]byte("ps")).async != nil {
		t.Fatal("AsyncPublishes false, yet the block publishes asynchronously")
	}
}

// Enqueue: queued, or failed (queue full, closed) through done, never
// inside the caller.
func TestEnqueue(t *testing.T) {
	q := make(chan int, 1)
	errs := make(chan error, 3)
	done := func(err error) { errs <- err }
	Enqueue(q, 1, false, done, "test")
	Enqueue(q, 2, false, done, "test")
	Enqueue(q, 3, true, done, "test")
	if got := <-q; got != 1 {
		t.Fatalf("queued %d, want 1", got)
	}
	var full, closed bool
	for range 2 {
		err := <-errs
		full = full || errors.Is(err, ErrQueueFull)
		closed = closed || errors.Is(err, ErrClosed)
	}
	if !full || !closed {
		t.Fatalf("full %v, closed %v: want both failures reported", full, closed)
	}
	select {
	case err := <-errs:
		t.Fatalf("queued item completed: %v", err)
	default:
	}
}
