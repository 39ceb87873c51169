// Package appchannel is the sidecar's HTTP/1.1 client to its app: every call
// skiff makes to the app (service invocation, and later pub/sub delivery,
// input bindings, /dapr/subscribe, /dapr/config) goes through a Client.
//
// Do runs on worker goroutines and blocks; never call it on an event loop.
// The event loops call the app themselves (dataplane/server, appcall.go)
// for small invocations: they take this Client's settings, encode with
// AppendRequest, word errors with Fail, and share its --app-max-concurrency
// slots through TryAcquire / Wait / CancelWait / Release, which never block.
//
// Metrics: an Observer installed with SetObserver (on the client and the
// clients built from its Settings, e.g. the app health probe's, marked
// Config.HealthProbe) is told about every Do: verb, path, status (500 for a
// failed call), body sizes and the time until the response head. Without
// one, Do does not read the clock.
//
// Connections are pooled keep-alive TCP connections to
// --app-channel-address:--app-port with TCP_NODELAY; a call never dials when
// an idle connection is available. Requests are encoded and responses parsed
// by this package and dataplane/http1, through buffers owned by the
// connection; net/http is not on this path. Bytes are always copied through
// our buffers: no io.Copy between sockets, no ReadFrom (it would splice, and
// splice cannot read data the eBPF shortcut redirects).
//
// Ownership and buffer lifetimes:
//   - A Request and the slices it points to belong to the caller; Do reads
//     them until it returns, except BodyStream (and a Body larger than
//     64 KiB), which may be read until the Response is closed.
//   - A Response is filled by Do and owned by the caller. Its header views,
//     Body and BodyStream are valid until Response.Close, which the caller
//     must call exactly once after a successful Do (a failed Do leaves
//     nothing to close). Close hands the connection back to the pool (or
//     drops it) and releases the --app-max-concurrency slot.
//
// Stale-connection rule: a connection idle for at least Config.PeekAfter
// (1 ms) is checked before reuse with a non-blocking MSG_PEEK read (one
// syscall); if the app has closed it (EOF), reset it, or sent unsolicited
// bytes, it is discarded and never written to. Apps close idle connections
// after seconds (Node: 5 s) and announce other closes with "Connection:
// close", so a connection reused within a millisecond skips the check. If a
// request
// written on a reused connection still fails with EOF/reset before a single
// response byte arrived (the app closed it in the meantime), it is sent once
// more on a freshly dialed connection only when that cannot run the request
// twice by surprise: the method is GET, HEAD, OPTIONS or TRACE, or the
// request carries an Idempotency-Key / X-Idempotency-Key header (Go's
// net/http rule), and its body is absent or held in memory (never a stream).
package appchannel
