package jetstream

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/conformance"
)

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(map[string]string{"natsURL": "nats://x", "startSequence": "5", "ackWait": "10s", "maxDeliver": "3", "maxAckPending": "50", "backOff": "1s, 2s"})
	if err != nil {
		t.Fatal(err)
	}
	c := o.Consumer
	if c.DeliverPolicy != jetstream.DeliverByStartSequencePolicy || c.OptStartSeq != 5 || c.AckWait != 10*time.Second || c.MaxDeliver != 3 || c.MaxAckPending != 50 || len(c.BackOff) != 2 {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []map[string]string{
		{},
		{"natsURL": "nats://x", "deliverPolicy": "sometimes"},
		{"natsURL": "nats://x", "deliverPolicy": "sequence"},
		{"natsURL": "nats://x", "ackPolicy": "maybe"},
		{"natsURL": "nats://x", "skiffCreateStream": "true"},
		{"natsURL": "nats://x", "ackWait": "long"},
	} {
		if _, err := ParseOptions(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestCloudEventID(t *testing.T) {
	for in, want := range map[string]string{
		`{"id":"a1","data":1}`:          "a1",
		`{"data":{"id":"inner"}}`:       "",
		`{"id":5}`:                      "",
		`not json "id"`:                 "",
		`{"specversion":"1.0","id":""}`: "",
	} {
		if got := cloudEventID([]byte(in)); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func natsURL(t *testing.T) string {
	return conformance.Service(t, "SKIFF_NATS_URL", "NATS JetStream")
}

func deleteStream(t *testing.T, url, name string) {
	nc, err := nats.Connect(url)
	if err != nil {
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = js.DeleteStream(ctx, name)
}

// TestMissingStream: a streamName that does not exist is reported by Ready
// (healthz) and publishes fail; nothing is created without skiffCreateStream.
func TestMissingStream(t *testing.T) {
	url := natsURL(t)
	name := conformance.Topic("skiff-missing")
	j, err := New("ps", map[string]string{"natsURL": url, "streamName": name, "consumerID": "c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	deadline := time.Now().Add(10 * time.Second)
	for j.Ready() == nil || !strings.Contains(j.Ready().Error(), "does not exist") {
		if time.Now().After(deadline) {
			t.Fatalf("Ready: %v", j.Ready())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := j.Publish(context.Background(), &pubsub.PublishRequest{Topic: name + ".t", Data: []byte(`{"id":"x"}`)}); err == nil {
		t.Fatal("publish to a subject without stream succeeded")
	}
}

// TestDedup: the CloudEvent id is the Nats-Msg-Id: publishing the same
// event twice stores it once.
func TestDedup(t *testing.T) {
	url := natsURL(t)
	name := conformance.Topic("skiff-dedup")
	defer deleteStream(t, url, name)
	j, err := New("ps", map[string]string{"natsURL": url, "streamName": name, "skiffCreateStream": "true", "consumerID": "c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx := context.Background()
	data := []byte(`{"id":"same","data":1}`)
	for i := 0; i < 2; i++ {
		if err := j.Publish(ctx, &pubsub.PublishRequest{Topic: name + "-t", Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	// The same event again, its id located by the block (EventID): still
	// the same Nats-Msg-Id.
	if err := j.Publish(ctx, &pubsub.PublishRequest{Topic: name + "-t", Data: data, EventID: data[7:11]}); err != nil {
		t.Fatal(err)
	}
	s, err := j.js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want 1 (de-duplicated)", info.State.Msgs)
	}
	if err := j.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}

// TestDurableSharedByTopics: a durableName cannot serve two topics.
func TestDurableSharedByTopics(t *testing.T) {
	url := natsURL(t)
	name := conformance.Topic("skiff-dur")
	defer deleteStream(t, url, name)
	j, err := New("ps", map[string]string{"natsURL": url, "streamName": name, "skiffCreateStream": "true", "durableName": "d1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := func(context.Context, *pubsub.Message) error { return nil }
	if err := j.Subscribe(ctx, pubsub.SubscribeRequest{Topic: name + "-a"}, h); err != nil {
		t.Fatal(err)
	}
	if err := j.Subscribe(ctx, pubsub.SubscribeRequest{Topic: name + "-b"}, h); err == nil || !strings.Contains(err.Error(), "d1") {
		t.Fatalf("second topic on durable d1: %v", err)
	}
}

// With NATS unreachable an asynchronous publish fails at once (the caller
// answers 500); after Close it fails too.
func TestPublishAsyncNATSDown(t *testing.T) {
	j, err := New("down", map[string]string{"natsURL": "nats://127.0.0.1:1", "consumerID": "c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	for _, closed := range []bool{false, true} {
		if closed {
			j.Close()
		}
		start := time.Now()
		j.PublishAsync(&pubsub.PublishRequest{Topic: "t", Data: []byte(`{"id":"1"}`)}, func(err error) { errs <- err })
		select {
		case err := <-errs:
			if err == nil {
				t.Fatalf("closed=%v: publish succeeded", closed)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("closed=%v: failed after %s, want at once", closed, el)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("closed=%v: publish never completed", closed)
		}
	}
}

// docsMetadata is the consumer part of the documented component file
// (docs.dapr.io, setup-jetstream).
func docsMetadata(url, stream string) map[string]string {
	return map[string]string{
		"natsURL": url, "name": "my-conn-name", "streamName": stream,
		"durableName": "my-durable-subscription", "queueGroupName": "my-queue-group",
		"startSequence": "1", "startTime": "1630349391", "flowControl": "false", "ackWait": "10s",
		"maxDeliver": "5", "backOff": "50ms, 1s, 10s", "maxAckPending": "5000", "replicas": "1",
		"memoryStorage": "false", "rateLimit": "1024", "heartbeat": "15s", "ackPolicy": "explicit",
		"deliverPolicy": "all",
	}
}

// TestParseOptionsDocumented: the documented rateLimit is read but kept
// off the (pull) consumer template; the rest maps as daprd's.
func TestParseOptionsDocumented(t *testing.T) {
	o, err := ParseOptions(docsMetadata("nats://x", "s"))
	if err != nil {
		t.Fatal(err)
	}
	c := o.Consumer
	if o.RateLimit != 1024 || c.RateLimit != 0 {
		t.Errorf("rateLimit: option %d, consumer %d; want 1024 and 0", o.RateLimit, c.RateLimit)
	}
	if c.DeliverPolicy != jetstream.DeliverByStartSequencePolicy || c.OptStartSeq != 1 || c.AckWait != 10*time.Second ||
		c.MaxDeliver != 5 || len(c.BackOff) != 3 || c.MaxAckPending != 5000 || c.Replicas != 1 || c.MemoryStorage ||
		c.AckPolicy != jetstream.AckExplicitPolicy {
		t.Errorf("consumer %+v", c)
	}
	if _, err := ParseOptions(map[string]string{"natsURL": "nats://x", "rateLimit": "fast"}); err == nil {
		t.Error("rateLimit fast accepted")
	}
}

// TestDocumentedConsumer: the server accepts the consumer built from the
// documented metadata (with rateLimit set, a pull consumer is refused:
// "consumer in pull mode can not have rate limit set").
func TestDocumentedConsumer(t *testing.T) {
	url := natsURL(t)
	name := conformance.Topic("skiff-docs")
	defer deleteStream(t, url, name)
	md := docsMetadata(url, name)
	md["consumerID"] = "c"
	md["skiffCreateStream"] = "true"
	j, err := New("ps", md, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := j.consumer(ctx, name+"-t")
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Durable != "my-durable-subscription" || info.Config.RateLimit != 0 || info.Config.MaxDeliver != 5 {
		t.Errorf("consumer %+v", info.Config)
	}
}
