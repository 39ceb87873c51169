// Package conformance holds the lock conformance suite (in its tests): the
// same scenarios run against every lock component skiff has —
// lock.in-memory always, lock.redis against $SKIFF_REDIS_ADDR (default
// 127.0.0.1:6379; skipped with the reason when unreachable, a failure when
// CI=true). Each run uses its own key prefix and deletes its keys.
package conformance
