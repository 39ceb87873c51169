// Package acl is daprd's service invocation access control
// (Configuration spec.accessControl): the policies are compiled and
// validated once at startup into a List, which answers whether a caller app
// may invoke an operation with an HTTP verb.
//
// It applies on the callee's side to calls from other apps' sidecars
// (blocks/invoke's CallLocal handler, behind the internal gRPC port), not to
// an app calling itself through its own sidecar, as in daprd. daprd knows
// the caller only from its mTLS certificate (SPIFFE ID); the caller id in
// the request's metadata is not trusted. skiffd has no mTLS, as daprd in
// standalone mode without Sentry, so calls come from an unknown Caller and
// the global defaultAction decides; app policies apply once a caller
// identity can be proven.
//
// Buffers: Allowed reads its arguments and keeps nothing; the List is
// immutable after Compile and safe for concurrent use.
package acl
