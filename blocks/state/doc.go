// Package state is Dapr's state management building block: the component
// interface a state store implements (Store and its optional extensions), the
// block's logic (key prefixes, validation, error mapping; see API), and a thin
// HTTP adapter that serves daprd 1.18's routes on the router (Routes). A gRPC
// adapter is meant to call the same API methods.
//
// Ownership and buffer lifetimes:
//   - The HTTP handlers run Inline on an event loop with views into the
//     connection's read buffer (path, query, headers, body). Those views are
//     valid only until the handler returns. Everything handed to a Store
//     (SetRequest.Value, keys, etags, metadata) is valid only for the duration
//     of the Store call: a store that keeps bytes must copy them.
//   - A store that may block (network I/O) reports InlineSafe() == false (or
//     does not implement InlineStore); its requests are moved to the worker
//     pool with router.Ctx.Offload before anything is parsed.
//   - A store that implements AsyncGetter (Redis, PostgreSQL) serves plain
//     GETs without a worker: the handler copies the key, suspends the
//     exchange (router.Ctx.Suspend) and the store's completion, on one of its
//     GetBatcher goroutines, writes the answer into the Ctx and resumes it.
//     Nothing from the request is used after the handler returns.
//   - Lazy wraps a backend store that connects in the background; until it
//     does, calls fail with a 500 naming the component and Ready feeds
//     healthz.
//   - FastGetter.AppendGet appends the value into the caller's buffer and may
//     return an etag view into the store's memory; stores that implement it
//     must never mutate a stored item in place (replace it instead), so the
//     view stays valid for as long as the caller holds it.
//
// Values are stored as the JSON text the client sent, with whitespace outside
// strings removed. daprd decodes values into Go values and re-encodes them,
// which also sorts object keys, rewrites string escapes and rounds numbers
// through float64; skiff keeps key order, escapes and numbers exactly as sent
// (the same JSON value, not always the same bytes).
package state
