// Package resiliency is daprd's policy engine for dapr.io/v1alpha1
// Resiliency documents: named timeouts, retries (constant or exponential
// back-off, maxRetries, status-code matching) and circuit breakers (a CEL
// trip expression over the breaker's counts), bound to targets (apps,
// components per direction; actors are parsed and ignored), with daprd's
// precedence: a named target's policies, else the Default…Policy names from
// the most specific level down, else nothing.
//
// The package owns the policy definitions and the breakers' state. It does
// not know the building blocks: callers wrap an operation with Policy.Run at
// the wiring level. A nil *Policy runs the operation once with no overhead,
// so a target without policies pays nothing.
//
// Buffer lifetimes: Run may call an operation several times; the operation
// must be able to replay its input (the invocation block buffers a body for
// that) and must not keep the context after it returns. Nothing here keeps
// a caller's buffer.
package resiliency
