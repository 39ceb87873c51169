// Package redis is lock.redis, daprd's standalone Redis lock: a lock is the
// key (lock||…||resource) holding the owner, taken with SET NX PX and
// released by a compare-and-delete Lua script, so that only the owner
// releases it and the statuses are daprd's (0 released, 1 no such lock,
// 2 held by another owner). As daprd, it refuses failover (Sentinel),
// clusters and a Redis with replicas, where a lock could be lost.
//
// The connection is lazy (blocks/internal/redisconn): a Redis down at
// startup does not stop the sidecar; requests answer ERR_TRY_LOCK /
// ERR_UNLOCK (500) until it connects. All I/O runs on the worker pool
// (InlineSafe is false).
//
// Buffers: keys and owners are Go strings; nothing refers to request memory.
package redis
