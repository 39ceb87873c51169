// Package acl is daprd's service invocation access control
// (Configuration spec.accessControl): the policies are compiled and
// validated once at startup into a List, which answers whether a caller app
// may invoke an operation with an HTTP verb.
//
// It applies on the callee's side to calls from other apps' sidecars. daprd
// does not apply it to an app calling itself through its own sidecar, and
// skiffd serves only its own app so far, so nothing consults the List on
// the request path yet; it is compiled (bad specs stop startup as in daprd)
// and ready for cross-app invocation.
//
// Buffers: Allowed reads its arguments and keeps nothing; the List is
// immutable after Compile and safe for concurrent use.
package acl
