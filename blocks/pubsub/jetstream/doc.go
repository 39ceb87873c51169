// Package jetstream is the pub/sub component "pubsub.jetstream" on NATS
// JetStream (github.com/nats-io/nats.go, its jetstream package), with
// Dapr's metadata names (natsURL, streamName, durableName, queueGroupName,
// startSequence, startTime, deliverPolicy, ackWait, maxDeliver,
// maxAckPending, backOff, replicas, memoryStorage, rateLimit, ackPolicy,
// domain, apiPrefix, name, token, jwt/seedKey, tls_client_cert/key).
// rateLimit is accepted and ignored (with a warning): daprd applies it to
// its push consumer, and NATS refuses it on the pull consumers used here.
//
// Publish sends the message with Nats-Msg-Id = the CloudEvent id (the
// stream de-duplicates a retried publish), waits for the stream's ack, and
// never buffers: the connection's reconnect buffer is off, so while the
// server is down a publish fails at once instead of being stored and sent
// after the caller was told 500.
//
// PublishAsync (the block's path from the event loop) queues the message
// for one publisher goroutine that hands it to nats.go's asynchronous
// publish; one acker completes each publish, in order, with the stream's
// ack, or fails it after skiffPublishTimeout.
//
// Subscribe binds a durable pull consumer (named durableName, else
// queueGroupName, else consumerID-topic) filtered on the topic. Up to
// maxAckPending messages are fetched ahead (in flight, not yet acked); they
// are handed to the handler one at a time in stream order and acked only
// after the handler answered nil. A refused message is retried in place with
// backoff (marked in progress so its ackWait restarts), which keeps the
// topic's order; daprd naks it instead and lets later messages overtake it.
// Windowed delivery (SubscribeWindowed, the block's pipelined path) keeps
// that order with up to 64 (at most maxAckPending) messages in flight: a
// refused one comes again, alone, once the others out have settled.
// With concurrency: "parallel" (daprd's option) up to min(maxAckPending,
// 64) messages are delivered at once, in no promised order.
// maxDeliver still bounds the attempts (the message is then terminated, as
// the server would drop it).
//
// Streams: daprd never creates the stream, and with a missing stream every
// publish fails while it reports healthy. Here a missing streamName is
// logged at startup and reported by healthz (Ready). The skiff extension
// skiffCreateStream: "true" creates the stream (file storage, at most
// skiffStreamMaxMsgs messages when set) on first use and adds each topic
// used to its subjects.
//
// Buffer ownership: Publish hands req.Data to nats.go, which copies it into
// the connection's write buffer; a delivered Message's Data belongs to
// nats.go's message and is valid until the handler returns.
package jetstream
