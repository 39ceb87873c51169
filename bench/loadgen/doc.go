// Package loadgen is an HTTP/1.1 load generator built to cost much less than
// the server it measures: keep-alive connections over raw TCP or a Unix
// socket, requests encoded once before the run, a minimal response parser
// (status line, Content-Length or chunked body), one goroutine per connection
// with one reused read buffer, and HDR histograms recorded per connection and
// merged at the end (no locks or channels on the hot path).
//
// Two loops:
//   - closed: each connection sends its next request as soon as the previous
//     answer is read (N connections, N requests in flight at most);
//   - open: a fixed total rate spread evenly over the connections. Latency is
//     measured from each request's intended send time, so when the server
//     stalls the requests that should have been sent meanwhile are charged
//     for the wait (coordinated omission corrected). The service time, from
//     the actual send, is kept too.
//
// Ownership: a Config's request bytes are shared read-only by every
// connection for the whole run; callers must not modify them until Run
// returns. Response bytes live in a connection's read buffer only until the
// next read and are never handed out.
package loadgen
