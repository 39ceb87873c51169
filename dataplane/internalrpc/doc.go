// Package internalrpc is the sidecar-to-sidecar transport of service
// invocation, as daprd speaks it: the gRPC service
// dapr.proto.internals.v1.ServiceInvocation (generated in internalpb from
// proto/) served on --dapr-internal-grpc-port, and the client
// a sidecar uses to call another sidecar's.
//
// It knows nothing of apps or access control: the Server hands each
// request, with its body gathered, to a Handler (blocks/invoke), and the
// Client sends one request to an address someone else resolved. Both
// CallLocal (unary) and CallLocalStream (bodies in chunks; daprd 1.18 calls
// it first for HTTP invocation) are served; the Client calls CallLocal,
// which every daprd serves.
//
// Bodies are buffered whole on this hop, bounded by the message size limit
// (--max-body-size plus room for headers), as daprd bounds it.
//
// Buffers: a Handler gets a request and body it may keep; the response and
// body it returns are owned by the Server from then on. The Client returns
// messages the caller owns. Everything here runs off the event loop.
package internalrpc
