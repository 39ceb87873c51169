// Package lazy connects a component's backend in the background: a backend
// that is down when the sidecar starts is retried with backoff instead of
// stopping startup, and Ready says why it is not connected yet, for healthz.
// It is shared by the state stores (state.Lazy) and the bindings.
//
// It holds no request buffers: connect functions get only a context.
package lazy
