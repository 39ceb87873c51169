// Package configuration is Dapr's configuration building block: the
// component interface a configuration store implements (Store), the block's
// logic (get, subscribe, unsubscribe, delivery of updates to the app; see
// API) and a thin HTTP adapter serving daprd 1.18's routes under
// /v1.0/configuration and /v1.0-alpha1/configuration (Routes).
//
// Components: configuration.in-memory (package memory) is a skiff
// extension: items come from component metadata ("item.<key>" =
// "value||version"), an optional JSON file watched for changes
// ("itemsFile"), and a Go API (Set, Delete) for tests. configuration.redis
// lives in package redis.
//
// Delivery: a store calls the subscription's handler from its own
// goroutine, one update at a time per subscription; the block POSTs the
// update to the app at /configuration/{store}/{key} (one POST per key in
// the update, each carrying the whole update, as daprd does) through the
// app channel from that goroutine, never from an event loop. Subscriptions
// end when the block is closed (shutdown).
//
// Ownership and buffer lifetimes: handlers copy the store name, keys and
// metadata out of the request (Go strings) before calling a store; a store
// that may block (InlineSafe false) is moved to the worker pool with
// router.Ctx.Offload before anything is parsed. Items handed to a handler
// belong to the receiver.
package configuration
