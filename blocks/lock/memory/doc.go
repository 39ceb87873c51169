// Package memory is lock.in-memory, a skiff extension: a process-local lock
// store. Locks expire at their deadline (checked on every access, and swept
// periodically so that abandoned locks do not pile up). It never blocks, so
// its requests run on the event loop.
//
// Buffers: keys and owners arrive as Go strings the block built; the store
// keeps them as they are (no views into request buffers exist here).
package memory
