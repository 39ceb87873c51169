// Package redis is the state.redis component: a state store on Redis with
// daprd 1.18's storage layout, so that data written by either sidecar reads
// back through the other.
//
// Layout (the keys are the block's stored keys, "{appId}||{key}" by default):
// each key is a hash with the field "data" (the value as stored: JSON text
// from the HTTP API) and "version" (the ETag, an integer incremented by
// HINCRBY on every write), plus "first-write" = 0 when it was last saved with
// first-write concurrency. Saves and deletes are Lua scripts that compare the
// version atomically (EVALSHA, falling back to EVAL when the script cache was
// flushed), with daprd's semantics, including its first-write quirks. TTLs
// are Redis expiries (EXPIRE; ttlInSeconds <= 0 persists the key). A
// transaction is one script: every version is checked before anything is
// written, so it is all-or-nothing (daprd queues one script per operation in
// MULTI/EXEC, where a failing script does not undo the others).
//
// The client is rueidis with auto-pipelining: concurrent requests from the
// worker pool share a few connections and are flushed together (see
// bench/RESULTS.md for the comparison with go-redis). Plain GETs from the
// HTTP API go through a state.GetBatcher instead: its worker sends what
// queued as one pipeline on a connection of its own, which rueidis then
// drives on the worker's goroutine (no writer/reader goroutine hand-offs).
//
// Buffer lifetimes: every key, value, etag and metadata map received from the
// block is valid only during the call; the store hands them to the client,
// which copies them into its write buffer before the call returns. Values
// returned in GetResponse/BulkGetItem are fresh allocations owned by the
// caller, except on the batched path (GetAsync), where Data views the reply's
// string and must not be modified (state.BatchReader).
package redis
