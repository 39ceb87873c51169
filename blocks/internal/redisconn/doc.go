// Package redisconn is the Redis connection shared by skiff's
// configuration.redis and lock.redis: component metadata parsed with
// Dapr's names and defaults, and a client (github.com/redis/rueidis) that
// connects lazily and retries with backoff, so that a Redis that is down
// at startup does not stop the sidecar. Until it connects, Client answers
// an error naming the address and the last failure (the blocks turn it
// into their 500 error).
//
// Nothing here touches request buffers: callers pass Go strings.
package redisconn
