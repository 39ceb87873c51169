// Package rabbitmq is the pub/sub component "pubsub.rabbitmq"
// (github.com/rabbitmq/amqp091-go), declaring what daprd declares so that
// both can share a broker: one exchange per topic (exchangeKind, default
// fanout; durable and auto-delete from durable/deletedWhenUnused, both
// true by default as in daprd's code), one queue per subscription named
// {consumerID}-{topic} (or the subscription's queueName), bound with the
// subscription's routingKey list, with daprd's queue arguments
// (x-queue-type from queueType, maxLen, maxLenBytes, maxPriority,
// singleActiveConsumer). With enableDeadLetter the queue dead-letters to
// the durable fanout exchange dlx-{queue}, bound to the lazy queue
// dlq-{queue}, as daprd names them. Options are parsed in options.go.
//
// Connection: connectionString (or host, or protocol/hostname/username/
// password), heartBeat (10s), clientName; with amqps, caCert, clientCert
// and clientKey give the TLS configuration and saslExternal makes the
// broker take the user from the client certificate (SASL EXTERNAL).
//
// Publish waits for the broker's confirm unless publisherConfirm: "false".
// daprd's default is false (204 then means only that the message was
// written to the connection, and a broker that dies right after loses
// it); skiffd defaults to true so an acknowledged publish is never lost.
// deliveryMode, ttlInSeconds/ttl (expiration) and the request's metadata
// (routingKey, ttl, priority, contentType, messageID, correlationID, type)
// are honoured. Delivery is manual-ack (autoAck: the broker acks on
// delivery), acked only after the handler answered nil. concurrencyMode
// parallel (daprd's default) hands out up to prefetchCount (else 100)
// messages of a topic at once, in no promised order; single hands them
// out one at a time in queue order. A refused message: with
// requeueInFailure it is retried in place with backoff (daprd requeues it
// at the queue's head); without it, it is nacked without requeue (dropped,
// or dead-lettered), exactly as daprd does. The connection is
// re-established with backoff (up to reconnectWait, 3s) after any
// failure; Ready reports it.
//
// Buffer ownership: Publish hands req.Data to the channel, which writes it
// before returning; a delivered Message's Data is the delivery's body,
// valid until the handler returns.
package rabbitmq
