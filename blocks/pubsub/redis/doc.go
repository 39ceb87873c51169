// Package redis is the pub/sub component "pubsub.redis" on Redis Streams,
// storage-compatible with daprd's: one stream per topic (the key is the
// topic name), entries with the fields "data" (the CloudEvent bytes) and
// "metadata" (the publish request's metadata, a JSON object, "{}" when
// empty); one
// consumer group per consumerID (default: the app id), whose consumer is
// also named consumerID, as daprd names it.
//
// Delivery: per subscribed topic a reader takes entries with XREADGROUP
// (COUNT queueDepth) into a queue of queueDepth entries that `concurrency`
// workers (default 10, as daprd) hand to the handler (windowed delivery,
// SubscribeWindowed: `concurrency` lanes instead, each an ordered window
// of several messages pipelined to the app on its own connection); an entry is
// acknowledged (XACK, batched) only after the handler answered nil (the app
// said SUCCESS or DROP). A refused entry is retried by its worker with
// backoff. Order: as daprd's component, entries are delivered concurrently
// and per-topic order is NOT promised unless concurrency is 1 (one worker:
// stream order, a refused entry holds back the ones behind it). At start
// the consumer's own pending entries (left unacknowledged by a previous run
// that was killed) are delivered first; every redeliverInterval, entries
// pending longer than processingTimeout (another replica died with them)
// are claimed with XAUTOCLAIM and delivered, unless they are still queued
// or being delivered here.
//
// Publishing: PublishAsync (the block's path from the event loop) queues
// the message for one publisher goroutine that sends everything queued
// meanwhile as one pipeline (DoMulti) and completes each publish with its
// XADD's answer; Publish (behind a resiliency policy) is one XADD.
//
// Buffer ownership: Publish copies req.Data into the command; a delivered
// Message's Data is a fresh slice the handler may read until it returns.
package redis
