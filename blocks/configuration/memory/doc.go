// Package memory is configuration.in-memory, a skiff extension: a
// process-local configuration store.
//
// Items come from three places:
//   - component metadata: each "item.<key>" entry is an item, its value
//     written as in Redis, "value||version" (the version part optional);
//   - "itemsFile": a JSON object {"key": "value||version"} or
//     {"key": {"value": …, "version": …, "metadata": {…}}}, read at start and
//     re-read when it changes (checked every "pollInterval", default 1s);
//     a key that leaves the file is deleted;
//   - the Go API (Set, Delete), used by tests.
//
// Every change is sent to the matching subscriptions, one update per key,
// from one goroutine per subscription (updates queue; the writer never
// waits for the app).
//
// Buffers: keys, items and metadata are Go strings; Get and updates hand out
// copies, so callers may keep or change what they receive.
package memory
