// Package httpbinding is bindings.http: an output binding that sends one
// HTTP request per invocation to the component's url (plus the request's
// metadata.path), as Dapr's http binding does: operations get, head, post,
// put, patch, delete, options, trace and create (= post); metadata keys
// starting with an upper-case letter become request headers; the answer's
// status and headers come back as metadata (statusCode, status, and each
// header); a non-2xx status is an error unless errorIfNot2XX is false.
//
// The request body is the invocation's data as the block hands it over
// (JSON). Requests run on the caller's goroutine (an Async route worker).
//
// Buffer lifetimes: Invoke reads req.Data and req.Metadata only until it
// returns; the response's Data and Metadata are fresh and the caller's.
package httpbinding
