// Package http1 parses and encodes HTTP/1.1 messages for skiff's data plane,
// in place and without allocating.
//
// Ownership: this package (dataplane/http1) is the only place that knows
// HTTP/1.1 wire syntax. It does no I/O and keeps no goroutines.
//
// Buffer lifetime. (*Request).Parse and (*Response).Parse record offsets
// (spans) into the buffer they are given; every accessor (Method, Path,
// Header, HeaderAt, …) returns a slice of that buffer, capacity-capped so an
// append cannot write past the view. The views are valid only while the
// buffer holds those bytes: once the caller discards, reuses or compacts it
// (the event loop's read buffer after the handler returns), they must not be
// used. To keep a request longer (async work), copy the head bytes to a new
// buffer at the same offsets and call Rebase on it: the spans stay correct,
// nothing is parsed again. Views must be treated as read-only.
//
// Incremental parsing. Parse returns ErrNeedMore while the head is
// incomplete; call it again with the same bytes plus what arrived since. It
// resumes at the first unfinished line, so a head trickled in byte by byte
// costs linear time. A line is judged only once its LF is present, so the
// verdict on a given byte string never depends on how it was split. After a
// head is parsed, the next Parse call starts a new message (pipelining: parse
// buf[n+bodyLen:] next). Reset is needed only before parsing unrelated bytes.
//
// Errors are *Error values carrying the status to answer with (400, 417,
// 431, 501, 505 for requests; 502 for responses from the app). They are
// shared: compare them, read them, never modify them. AppendErrorResponse
// turns one into the exact bytes Go's net/http (daprd) answers with.
//
// Strictness, chosen for request-smuggling safety and to match daprd (Go's
// net/http): single SP between request-line parts; no whitespace before a
// field colon; no CTL in values; Content-Length is 1*DIGIT and duplicates
// must agree; Transfer-Encoding must be exactly "chunked" (501 otherwise); an
// HTTP/1.1 request needs exactly one Host, made of the bytes Go allows (400);
// a path with a broken %-escape is a 400; an Expect other than 100-continue
// is a 417. Bare LF ends head lines (RFC 9112 §2.2) but never chunk framing
// lines.
//
// Deliberate differences from Go on odd input. Stricter: Content-Length with
// Transfer-Encoding, Transfer-Encoding in HTTP/1.0, obs-fold, and "*" with a
// method other than OPTIONS are 400s (Go accepts them). More lenient, as the
// RFCs allow: empty lines before the request line are skipped (Go answers
// 400) and BWS before a chunk extension is accepted. Like Go, HTTP/1.2–1.9
// is served as 1.1 (RFC 9110 §6.2).
package http1
