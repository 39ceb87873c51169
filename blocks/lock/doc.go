// Package lock is Dapr's distributed lock building block (alpha API): the
// component interface a lock store implements (Store), the block's logic
// (validation in daprd's order, daprd's key layout "lock||{prefix}||{id}",
// error mapping; see API) and a thin HTTP adapter serving
// POST /v1.0-alpha1/lock/{store} and /v1.0-alpha1/unlock/{store} (Routes).
//
// Components: lock.in-memory (package memory) is a skiff extension: daprd
// 1.18 has no usable in-memory lock store (components-contrib's in-memory
// lock answers success to everything). It is process-local, so it only
// protects resources among the clients of one sidecar. lock.redis lives in
// package redis.
//
// Ownership and buffer lifetimes:
//   - Handlers run Inline on an event loop with views into the read buffer;
//     a store that may block (InlineSafe false) is moved to the worker pool
//     with router.Ctx.Offload before anything is parsed.
//   - The request body is decoded into fresh Go strings (encoding/json), so
//     nothing handed to a Store points into the connection's buffers.
package lock
