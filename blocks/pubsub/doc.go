// Package pubsub is Dapr's publish/subscribe building block: the component
// interface brokers implement (PubSub and its optional extensions
// BulkPublisher, BulkSubscriber, WindowedSubscriber, LaneCounter,
// AnswerTimeouter, AsyncPublisher, InlinePublisher, ReadyNotifier), the
// block's logic (CloudEvent envelopes exactly as daprd 1.18 builds them,
// scoping, subscriptions with CEL routing rules, delivery to the app with
// daprd's SUCCESS / RETRY / DROP semantics and dead-letter topics), and a
// thin HTTP adapter for daprd's publish routes.
//
// Ownership and buffer lifetimes:
//   - HTTP handlers run Inline on an event loop with views into the read
//     buffer (path, query, headers, body), valid only until the handler
//     returns. Publish builds the envelope in a pooled buffer and hands the
//     component a fresh, exactly sized copy that the component owns; the
//     topic is interned (a string, never a view), and metadata is a fresh
//     map. Nothing the component keeps points into a request.
//   - A component whose Publish may wait (network brokers) does not report
//     InlineSafe; its requests are moved to the worker pool with Offload
//     before anything is read, unless it is an AsyncPublisher (Redis
//     Streams): then the message is built on the loop as above, the
//     exchange is suspended and the component's completion answers it from
//     its own goroutine. Bulk publish always runs on the pool.
//   - Delivery runs on the components' goroutines, never on an event loop:
//     pipelined on one keep-alive connection per subscription (pipe.go)
//     when the component supports windowed delivery and the app channel has
//     no --app-max-concurrency limit (a component with lanes, Redis
//     Streams' concurrency, gets one connection per lane; brokers run their
//     windows with Ordered, window.go), otherwise one message at a time
//     through the app channel (Client.Do). A Handler sees Message.Data only
//     until it returns (an AsyncHandler until it calls done);
//     dead-lettering copies it.
//   - A component that is also an IngressObserver (cmd/skiffd's metrics
//     decorator) is told every delivery's outcome, as daprd's metrics label
//     it, and the app call's latency; without one no clock is read.
package pubsub
