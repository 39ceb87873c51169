// Package rabbitmq is the pub/sub component "pubsub.rabbitmq"
// (github.com/rabbitmq/amqp091-go), declaring what daprd declares so that
// both can share a broker: one exchange per topic (exchangeKind, default
// fanout; durable and auto-delete from durable/deletedWhenUnused), one
// queue per subscription named {consumerID}-{topic} (or the subscription's
// queueName), bound with the subscription's routingKey, with daprd's queue
// arguments (x-queue-type classic, maxLen, maxLenBytes).
//
// Publish always uses publisher confirms (daprd only with
// publisherConfirm: "true"): 204 means the broker has the message.
// deliveryMode, ttlInSeconds (expiration) and the request's metadata are
// honoured. Delivery is manual-ack, one message at a time per topic in queue
// order, with prefetchCount fetched ahead; acked only after the handler
// answered nil. A refused message: with requeueInFailure it is retried in
// place with backoff (order kept; daprd requeues it at the queue's head);
// without it, it is nacked without requeue (dropped, or dead-lettered by the
// broker), exactly as daprd does. The connection is re-established with
// backoff (up to reconnectWait) after any failure; Ready reports it.
//
// Buffer ownership: Publish hands req.Data to the channel, which writes it
// before returning; a delivered Message's Data is the delivery's body,
// valid until the handler returns.
package rabbitmq
