package pubsub

import (
	"context"
	"sync"
	"testing"
)

// sink is a component that keeps nothing.
type sink struct {
	mu   sync.Mutex
	last PublishRequest
}

func (s *sink) Publish(_ context.Context, r *PublishRequest) error {
	s.mu.Lock()
	s.last = *r
	s.mu.Unlock()
	return nil
}
func (s *sink) Subscribe(context.Context, SubscribeRequest, Handler) error { return nil }
func (s *sink) Features() Features                                         { return 0 }
func (s *sink) Close() error                                               { return nil }
func (s *sink) InlineSafe() bool                                           { return true }

// TestPublishAllocs: a small publish allocates the message's bytes and
// nothing else (topic and content type are interned, the envelope is built
// in a pooled buffer).
func TestPublishAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	s := &sink{}
	a, err := New(Config{AppID: "app"}, []Entry{{Name: "ps", Component: s}})
	if err != nil {
		t.Fatal(err)
	}
	c := a.Lookup([]byte("ps"))
	in := PublishInput{Topic: []byte("orders"), ContentType: []byte("application/json"), Body: []byte(`{"orderId":1}`)}
	if f := a.Publish(context.Background(), c, &in); f != nil {
		t.Fatal(f.Msg)
	}
	n := testing.AllocsPerRun(200, func() { _ = a.Publish(context.Background(), c, &in) })
	if n > 1 {
		t.Errorf("publish allocates %v times, want 1 (the message bytes)", n)
	}
	if s.last.Topic != "orders" || s.last.ContentType != "application/json" {
		t.Errorf("published %+v", s.last)
	}
}

// TestPublishCopies: the component's message does not alias the request.
func TestPublishCopies(t *testing.T) {
	s := &sink{}
	a, _ := New(Config{AppID: "app"}, []Entry{{Name: "ps", Component: s}})
	topic, body := []byte("t1"), []byte("hello")
	in := PublishInput{Topic: topic, Body: body, Metadata: map[string]string{"rawPayload": "true"}}
	if f := a.Publish(context.Background(), a.Lookup([]byte("ps")), &in); f != nil {
		t.Fatal(f.Msg)
	}
	copy(topic, "XX")
	copy(body, "XXXXX")
	if s.last.Topic != "t1" || string(s.last.Data) != "hello" {
		t.Errorf("the published message aliases the request: %q %q", s.last.Topic, s.last.Data)
	}
}
