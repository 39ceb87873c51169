package pubsub_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/memory"
	"github.com/skiffd/skiff/dataplane/appchannel"
)

// TestPipelinedDelivery: messages published to one topic reach the app
// through the pipelined connection, all of them, first deliveries in
// publish order, even when the app drops the connection now and then
// (those in flight come again: at-least-once).
func TestPipelinedDelivery(t *testing.T) {
	var mu sync.Mutex
	var got []int
	served := 0
	bus, _ := memory.New("ps", nil)
	t.Cleanup(func() { bus.Close() }) // after startPipe's cancel
	h := startPipe(t, bus, func(d string, w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(d)
		mu.Lock()
		got = append(got, n)
		served++
		drop := served%97 == 0
		mu.Unlock()
		if drop {
			// Cut the connection without answering: what was in flight
			// must come again.
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		w.WriteHeader(200)
	})
	const total = 1000
	for i := range total {
		h.publish(strconv.Itoa(i))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		seen := map[int]bool{}
		for _, n := range got {
			seen[n] = true
		}
		done := len(seen) == total
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d distinct messages delivered, want %d", len(seen), total)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	next := 0
	for _, n := range got {
		if n == next {
			next++
		} else if n > next {
			t.Fatalf("message %d delivered before %d", n, next)
		}
	}
}

// timeoutBus is the in-memory queue with an answer timeout, as Redis
// Streams (processingTimeout) and JetStream (ackWait) have.
type timeoutBus struct{ *memory.Bus }

func (timeoutBus) AnswerTimeout(pubsub.SubscribeRequest) time.Duration { return 300 * time.Millisecond }

// TestPipelinedDeliveryAnswerTimeout: an app that never answers a delivery
// does not stall the topic: after the component's answer timeout the
// connection is given up and the message comes again; an idle connection
// is not cut.
func TestPipelinedDeliveryAnswerTimeout(t *testing.T) {
	var mu sync.Mutex
	var got []string
	hung := map[string]bool{}
	bus, _ := memory.New("ps", nil)
	t.Cleanup(func() { bus.Close() }) // after startPipe's cancel
	h := startPipe(t, timeoutBus{bus}, func(d string, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, d)
		hang := (d == "first" || d == "fourth") && !hung[d]
		hung[d] = true
		mu.Unlock()
		if hang {
			// Never answers. It ends when the sidecar hangs up, or a
			// little later: with another request pipelined behind it the
			// server does not notice the hang-up (its background read
			// took a byte of that request).
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
			return
		}
		w.WriteHeader(200)
	})
	publish := h.publish
	count := func(g []string, s string) (n int) {
		for _, x := range g {
			if x == s {
				n++
			}
		}
		return n
	}
	// waitTail waits until the deliveries end with tail and the first
	// message came twice; it returns them.
	waitTail := func(tail ...string) []string {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			g := append([]string(nil), got...)
			mu.Unlock()
			if len(g) >= len(tail) && slices.Equal(g[len(g)-len(tail):], tail) && count(g, "first") >= 2 {
				return g
			}
			if time.Now().After(deadline) {
				t.Fatalf("deliveries %v, want them to end with %v", g, tail)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	start := time.Now()
	publish("first")
	publish("second")
	// first hangs; after the timeout it comes again, then second (which
	// the app may have seen once already: it was queued behind first on
	// the connection given up).
	g := waitTail("first", "second")
	if count(g, "first") != 2 {
		t.Fatalf("deliveries %v: first should come exactly twice", g)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("redelivered after %s, before the 300ms answer timeout", el)
	}
	// Idle for longer than the timeout, then one more: it is delivered
	// once (the idle connection was not cut under it).
	n := len(g)
	time.Sleep(700 * time.Millisecond)
	publish("third")
	g = waitTail("third")
	if len(g) != n+1 {
		t.Fatalf("deliveries %v after an idle spell: want only third added", g)
	}
	// A delivery that hangs after an idle spell (the reader was waiting
	// without a deadline) times out too.
	publish("fourth")
	g = waitTail("fourth", "fourth")
	if len(g) != n+3 {
		t.Fatalf("deliveries %v: want fourth twice after third", g)
	}
}

// pipeHarness runs the block with pipelined delivery to a test app whose
// handler gets each delivery's data (the text published); publish sends
// one message to topic "t" of comp.
type pipeHarness struct {
	t   *testing.T
	api *pubsub.API
	ctx context.Context
}

func startPipe(t *testing.T, comp pubsub.PubSub, serve func(d string, w http.ResponseWriter, r *http.Request)) *pipeHarness {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dapr/subscribe" {
			io.WriteString(w, `[{"pubsubname":"ps","topic":"t","route":"/t"}]`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		i := strings.Index(string(body), `"data":"`)
		serve(strings.SplitN(string(body[i+8:]), `"`, 2)[0], w, r)
	}))
	t.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	p, _ := strconv.Atoi(port)
	ch, err := appchannel.New(appchannel.Config{Address: host, Port: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	api, err := pubsub.New(pubsub.Config{AppID: "app"}, []pubsub.Entry{{Name: "ps", Type: "pubsub.in-memory", Component: comp}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // runs first: delivery stops before the app goes
	api.Start(ctx, ch, nil, &pubsub.PipeTarget{Addr: net.JoinHostPort(host, port), Window: 16})
	return &pipeHarness{t: t, api: api, ctx: ctx}
}

func (h *pipeHarness) publish(s string) {
	h.t.Helper()
	in := pubsub.PublishInput{Topic: []byte("t"), ContentType: []byte("text/plain"), Body: []byte(s)}
	if f := h.api.Publish(h.ctx, h.api.Lookup([]byte("ps")), &in); f != nil {
		h.t.Fatal(f.Msg)
	}
}
