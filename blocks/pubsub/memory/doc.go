// Package memory is the pub/sub component "pubsub.in-memory": one bounded
// FIFO queue per topic inside the sidecar.
//
// Guarantees: at-least-once delivery (a message leaves its queue only once
// the handler acknowledged it), per-topic order (one delivery at a time per
// topic; a message the handler refuses stays at the head and is retried
// with backoff), and no silent loss: Publish answers ErrQueueFull when the
// topic's queue holds maxQueueSize messages (metadata, default 10000).
// Windowed delivery (SubscribeWindowed) hands up to window messages of a
// topic out at once, in order, and takes their results in any order; a
// failure stops further hand-outs until every message out has settled,
// then the failed ones are resent one at a time (with backoff) before
// anything new.
// Until SubscriptionsReady, messages are kept for every topic, so messages
// published before the app is up wait for it; after it, a topic nobody
// subscribed to drops what is published to it, as daprd's in-memory
// component does (no subscriber will ever come: subscriptions are fixed at
// startup).
//
// Buffer ownership: Publish takes ownership of req.Data (the block hands
// over a fresh slice); Topic and Metadata are read-only and may be shared.
// A handler sees Message.Data until it returns.
package memory
