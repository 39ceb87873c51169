// Package redis is configuration.redis with daprd's layout: each item is a
// plain Redis string key holding "value||version" (the version part
// optional); keys of another type are skipped. Subscriptions listen to
// keyspace notifications on __keyspace@{redisDB}__:{key} (a pattern
// subscription on __keyspace@{redisDB}__:* when no keys are given) and,
// as daprd, turn them on with CONFIG SET notify-keyspace-events KA. A "del"
// event is delivered as a null item; any other event re-reads the key.
//
// Each subscription owns a dedicated connection and a goroutine that
// re-subscribes with backoff when the connection drops; notifications are
// queued and handed to the block one at a time from a second goroutine,
// so a slow app never stalls the Redis reader. The connection is lazy
// (blocks/internal/redisconn): a Redis down at startup does not stop the
// sidecar; requests fail (500) until it connects. InlineSafe is false.
//
// Buffers: keys and values are Go strings copied out of Redis replies;
// updates handed to the block belong to it.
package redis
