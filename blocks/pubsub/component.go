package pubsub

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PubSub is what a pub/sub component implements. Brokers (Redis Streams,
// NATS JetStream, RabbitMQ, MQTT) and the in-memory queue all fit it:
// publish bytes with metadata, subscribe a topic with a handler whose result
// acknowledges or asks for redelivery, close.
type PubSub interface {
	// Publish sends one message. req.Data belongs to the component once
	// Publish is called (the block never reuses it); req.Metadata and
	// req.Topic may be shared with other messages and must not be modified;
	// req itself is reused after Publish returns (keep its fields, not the
	// pointer).
	// A full queue or a broker error is an error, never a silent drop.
	Publish(ctx context.Context, req *PublishRequest) error
	// Subscribe starts delivering the topic's messages to h until ctx ends.
	// It returns once the subscription is in place. By default the component
	// delivers one message of a topic at a time, in order: the next one only
	// once h has answered for the previous one; brokers whose metadata asks
	// for concurrent deliveries (concurrency, concurrencyMode: parallel) call
	// h concurrently, as daprd's do. h returning nil acknowledges the
	// message; an error means "deliver it again later" (the component
	// chooses the backoff, and keeps the message at the head of the topic).
	Subscribe(ctx context.Context, req SubscribeRequest, h Handler) error
	// Features lists the optional behaviours the component has.
	Features() Features
	Close() error
}

// BulkPublisher is implemented by components that publish many messages in
// one call. The block falls back to one Publish per entry otherwise.
type BulkPublisher interface {
	// BulkPublish publishes the entries and returns the ones that failed;
	// entries not listed succeeded.
	BulkPublish(ctx context.Context, req *BulkPublishRequest) []BulkFailure
}

// BulkSubscriber is implemented by components that deliver several
// messages at once for bulkSubscribe subscriptions.
type BulkSubscriber interface {
	// BulkSubscribe is Subscribe with batches of at most maxCount messages,
	// gathered for at most maxAwait. h answers one error per message (nil:
	// acknowledged); failed messages stay at the head of the topic, in order.
	BulkSubscribe(ctx context.Context, req SubscribeRequest, maxCount int, maxAwait time.Duration, h BulkHandler) error
}

// WindowedSubscriber is implemented by components that can have several
// messages of a topic in flight at once while keeping their order: h is
// called for each message in topic order, from one goroutine, and must
// start the delivery and return; done reports the result later (calls may
// come from any goroutine, in any order). msg stays valid until done. A
// failed message is redelivered, alone, before any message not yet
// handed out, once every message in flight has settled; messages that
// succeeded meanwhile are not redelivered.
type WindowedSubscriber interface {
	SubscribeWindowed(ctx context.Context, req SubscribeRequest, window int, h AsyncHandler) error
}

// AsyncHandler starts the delivery of msg; done(nil) acknowledges it.
type AsyncHandler func(ctx context.Context, msg *Message, done func(error))

// AsyncPublisher is implemented by components that publish without a
// goroutine per request (Redis Streams gathers the XADDs of many requests
// into one pipeline): the block then publishes from the event loop and
// answers once done is called. AsyncPublishes false (a decorator over a
// component without it) means Publish only.
type AsyncPublisher interface {
	AsyncPublishes() bool
	// PublishAsync must not wait. req is as for Publish: the component
	// owns req.Data and keeps copies of the other fields, not req; done is
	// called exactly once, from any goroutine.
	PublishAsync(req *PublishRequest, done func(error))
}

// Enqueue is PublishAsync's hand-off for components with a publisher
// goroutine: it sends item on q without waiting; when the component is
// closed or q is full, done fails from another goroutine (never inside the
// caller, whose exchange is not suspended yet). The caller holds the lock
// that guards closed.
func Enqueue[T any](q chan<- T, item T, closed bool, done func(error), backend string) {
	if closed {
		go done(ErrClosed)
		return
	}
	select {
	case q <- item:
	default:
		go done(fmt.Errorf("publish: %w (%d publishes waiting for %s)", ErrQueueFull, cap(q), backend))
	}
}

// InlinePublisher is implemented by components whose Publish never waits
// (in memory): the block then publishes on the event loop.
type InlinePublisher interface{ InlineSafe() bool }

// ReadyNotifier is implemented by components that want to know when every
// subscription of this sidecar is in place (the in-memory queue then stops
// keeping messages for topics nobody subscribed to, as daprd's does).
type ReadyNotifier interface{ SubscriptionsReady() }

// PublishRequest is one message to publish.
type PublishRequest struct {
	Topic       string
	Data        []byte
	ContentType string
	Metadata    map[string]string
	// EventID is the CloudEvent id as written in Data (a view into Data)
	// when the block built the envelope; nil otherwise (raw payloads,
	// incoming CloudEvents): a component that needs the id parses Data.
	EventID []byte
	// DeadLetter marks the block's own publish of a message to its
	// subscription's dead-letter topic (daprd does not count those as
	// publishes in its metrics); components ignore it.
	DeadLetter bool
}

// SubscribeRequest names the topic to subscribe to.
type SubscribeRequest struct {
	Topic    string
	Metadata map[string]string
}

// Message is one delivered message. Data is owned by the component; a
// handler must not keep it after returning.
type Message struct {
	Topic       string
	Data        []byte
	ContentType string
	Metadata    map[string]string
	// Redelivered is set when the message is handed out again after a
	// failure.
	Redelivered bool
	// Lane is the delivery lane of a component with several (see
	// LaneCounter); 0 otherwise.
	Lane int
}

// Handler processes one delivered message; see PubSub.Subscribe.
type Handler func(ctx context.Context, msg *Message) error

// BulkHandler processes a batch; it returns one error per message.
type BulkHandler func(ctx context.Context, msgs []*Message) []error

// BulkPublishRequest is a bulk publish.
type BulkPublishRequest struct {
	Topic    string
	Entries  []BulkEntry
	Metadata map[string]string
}

// BulkEntry is one message of a bulk publish.
type BulkEntry struct {
	EntryID     string
	Event       []byte
	ContentType string
	Metadata    map[string]string
}

// BulkFailure is a bulk publish entry that failed.
type BulkFailure struct {
	EntryID string
	Err     error
}

// IngressObserver is implemented by a component decorator that records
// deliveries (cmd/skiffd's daprd metrics); the block finds it by type
// assertion, as the other optional behaviours, and reports every outcome
// to it. Calls come from delivery goroutines, concurrently.
type IngressObserver interface {
	// Ingress reports how one message ended; elapsed is the app call's
	// duration, 0 when the app was not called (a record without latency,
	// as daprd's).
	Ingress(topic string, st IngressStatus, elapsed time.Duration)
	// BulkIngress reports one batch of a bulkSubscribe subscription: how
	// many of its messages succeeded, were dropped or will come again, and
	// the app call's duration (the last one when the batch went to several
	// routes; 0 when the app was not called).
	BulkIngress(topic string, success, drop, retry int, elapsed time.Duration)
}

// IngressStatus is a delivery's outcome as daprd's ingress metric labels
// it: process_status and status.
type IngressStatus uint8

const (
	// IngressSuccess: the app took the message (success, success).
	IngressSuccess IngressStatus = iota
	// IngressRetry: the message comes again: RETRY, an unknown status,
	// an error status, the app unreachable (retry, retry).
	IngressRetry
	// IngressDrop: the app answered 404, the sidecar could not deliver it
	// (expired, not a CloudEvent), or a failed message went to the
	// dead-letter topic (drop, drop).
	IngressDrop
	// IngressDropSuccess: the app answered DROP, or no routing rule
	// matched (drop, success).
	IngressDropSuccess
)

// Feature is one optional behaviour.
type Feature uint8

// Features is a set of Feature.
type Features uint8

const (
	// FeatureMessageTTL: the component expires messages itself (daprd then
	// adds no "expiration" attribute).
	FeatureMessageTTL Feature = 1 << iota
	// FeatureSubscribeWildcards: topics may contain wildcards.
	FeatureSubscribeWildcards
	// FeatureBulkPublish: the component implements BulkPublisher natively.
	FeatureBulkPublish
)

// Has reports whether f is in fs.
func (fs Features) Has(f Feature) bool { return fs&Features(f) != 0 }

// Names returns the features as daprd's metadata API lists capabilities.
func (fs Features) Names() []string {
	var n []string
	if fs.Has(FeatureMessageTTL) {
		n = append(n, "MESSAGE_TTL")
	}
	if fs.Has(FeatureSubscribeWildcards) {
		n = append(n, "SUBSCRIBE_WILDCARDS")
	}
	if fs.Has(FeatureBulkPublish) {
		n = append(n, "BULK_PUBLISH")
	}
	return n
}

// ErrQueueFull is returned by a component whose bounded queue has no room.
var ErrQueueFull = errors.New("queue is full")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("pubsub component is closed")
