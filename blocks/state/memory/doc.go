// Package memory is the embedded state store "state.in-memory": daprd's
// in-memory component (components-contrib state/in-memory) rebuilt to be
// served inline on the event loops.
//
// The key space is split into shards by key hash, each with its own lock, so
// many loops read and write at once. Items are immutable once stored: a write
// replaces the item (new value, new etag), so views handed out by AppendGet
// (the etag) stay valid without a lock. Values are copied in; callers may
// reuse their buffers as soon as a call returns.
//
// ETags are random UUIDv4 strings, as daprd's store makes them. TTLs
// ("ttlInSeconds" metadata) are checked lazily on read and swept once a
// second by a background goroutine that Close stops. A transaction locks
// every shard it touches in index order, validates all etags against the
// state before it, then applies every operation: all or nothing.
package memory
