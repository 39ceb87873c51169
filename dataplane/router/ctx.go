package router

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/http1"
)

// Handler serves one request. It must set a status (default 200) and may
// write headers and a body; it must not keep c or any view from it after it
// returns.
type Handler func(c *Ctx)

// Streamer is implemented by the server: it sends a response whose body is
// produced while the handler runs. Only Async and Stream handlers may use it.
type Streamer interface {
	// StartStream sends the status line and the headers set so far; the body
	// follows through w. contentLength < 0 means chunked. Close ends the body.
	StartStream(c *Ctx, contentLength int64) (w io.WriteCloser, err error)
}

const maxParams = 8

// Ctx is one request/response exchange. The server owns it (pooled); a
// handler borrows it for the duration of the call.
type Ctx struct {
	Req http1.Request
	// Body is the whole request body, decoded from chunked when needed. In
	// Stream mode it is nil when the body did not arrive with the head;
	// then BodyStream yields it.
	Body       []byte
	BodyStream io.Reader
	Route      *Route

	path      []byte
	paramN    int
	paramSpan [maxParams][2]int32 // relative to the path

	status   int
	hdrs     []byte // encoded "Name: value\r\n" lines
	RespBody []byte // response body; handlers append to it
	streamed bool

	Ctx      context.Context // cancelled when the client goes away (Async/Stream only)
	Streamer Streamer
	// Caller is set by the server while an Inline handler runs on a loop
	// that can call the app without leaving it (see CallApp).
	Caller AppCaller
	// Suspender is set by the server while an Inline handler runs on a loop.
	Suspender Suspender
	// Scratch is a pooled buffer handlers may use freely for the duration of the call.
	Scratch []byte
	// Trace, when tracing is on, is the traceparent of this request's span:
	// blocks pass it to the app and into CloudEvents. Empty when off.
	Trace []byte
	// AppCallStart is when a block sent this request's call to the app,
	// for the app channel's latency metric; zero when nobody measures.
	AppCallStart time.Time

	offload Handler
}

// AppCaller is implemented by the server: it calls the app from the event
// loop.
type AppCaller interface {
	CallApp(c *Ctx, req []byte, replayable bool, done AppDone)
}

// AppDone receives the app's answer to CallApp, or why there is none. It
// runs on the event loop when the body is small (Body) and on a worker when
// it is large or open-ended (BodyStream, to be read to its end or
// abandoned; c.StartStream works there). Either way it answers c as a
// handler would. resp and its views are valid until it returns.
type AppDone func(c *Ctx, resp *AppResponse, err error)

// AppResponse is the app's answer to CallApp.
type AppResponse struct {
	Status        int
	ContentLength int64 // -1 when unknown (chunked, until close)
	Head          *http1.Response
	Body          []byte
	BodyStream    io.Reader
}

// NumHeaders, HeaderAt and Header read the app's header fields.
func (r *AppResponse) NumHeaders() int                     { return r.Head.NumHeaders() }
func (r *AppResponse) HeaderAt(i int) (name, value []byte) { return r.Head.HeaderAt(i) }
func (r *AppResponse) Header(name string) []byte           { return r.Head.Header(name) }

// Suspender is implemented by the server: it lets an Inline handler answer
// later from another goroutine, without a worker (see Suspend).
type Suspender interface {
	Suspend(c *Ctx) (resume func())
}

// CanSuspend reports whether Suspend is available (Inline handler on a loop).
func (c *Ctx) CanSuspend() bool { return c.Suspender != nil }

// Suspend hands the exchange to the caller: once the handler returns, the
// server keeps the exchange pending (in pipeline order) until resume is
// called, exactly once and from any goroutine, after the response has been
// written into c (status, headers, body). Views into the request (path,
// params, query, headers, body) are invalid once the handler returns: copy
// what the completion needs first. Used by backend stores that batch reads
// from many connections into one round trip (state.AsyncGetter).
func (c *Ctx) Suspend() (resume func()) { return c.Suspender.Suspend(c) }

// CanCallApp reports whether CallApp is available (Inline handler on a loop
// with an app channel).
func (c *Ctx) CanCallApp() bool { return c.Caller != nil }

// CallApp sends req, a complete encoded HTTP/1.1 request with its body, to
// the app from the event loop; the exchange is answered by done once the
// response (or a failure) arrives. req is copied: the caller may reuse it.
// replayable allows one resend on a fresh connection when a reused one
// turns out closed before any response byte (see appchannel's doc.go). Only
// an Inline handler may call it, when CanCallApp, and then write nothing.
func (c *Ctx) CallApp(req []byte, replayable bool, done AppDone) {
	c.Caller.CallApp(c, req, replayable, done)
}

// Offload asks the server to continue this exchange on the worker pool: h runs
// there with a private copy of the request. Only an Inline handler may call it,
// before writing anything; it is how a handler whose backend may block (Redis)
// shares a route with one that never does (in-memory).
func (c *Ctx) Offload(h Handler) { c.offload = h }

// TakeOffload returns and clears the handler passed to Offload. The server calls it.
func (c *Ctx) TakeOffload() Handler {
	h := c.offload
	c.offload = nil
	return h
}

// Context is the request's context: Ctx when the handler runs off the loop
// (cancelled when the client goes away), else context.Background() (an
// Inline handler never waits).
func (c *Ctx) Context() context.Context {
	if c.Ctx != nil {
		return c.Ctx
	}
	return context.Background()
}

// Reset clears the exchange for reuse and keeps its buffers.
func (c *Ctx) Reset() {
	c.Body = nil
	c.BodyStream = nil
	c.Route = nil
	c.path = nil
	c.paramN = 0
	c.status = 0
	c.hdrs = c.hdrs[:0]
	c.RespBody = c.RespBody[:0]
	c.streamed = false
	c.Ctx = nil
	c.Streamer = nil
	c.Caller = nil
	c.Suspender = nil
	c.Scratch = c.Scratch[:0]
	c.Trace = c.Trace[:0]
	c.AppCallStart = time.Time{}
	c.offload = nil
}

// SetPath records the path the route matched, for Param. The server calls it.
func (c *Ctx) SetPath(p []byte) { c.path = p }

// NumParams returns how many path parameters the route captured.
func (c *Ctx) NumParams() int { return c.paramN }

// Param returns the i-th path parameter as sent (still percent-encoded).
func (c *Ctx) Param(i int) []byte {
	if i >= c.paramN {
		return nil
	}
	s := c.paramSpan[i]
	return c.path[s[0]:s[1]:s[1]]
}

// ParamByName returns the parameter named in the route pattern, or nil.
func (c *Ctx) ParamByName(name string) []byte {
	if c.Route == nil {
		return nil
	}
	for i, n := range c.Route.paramNames {
		if n == name {
			return c.Param(i)
		}
	}
	return nil
}

// ParamDecoded returns parameter i percent-decoded. When decoding is needed
// the result is appended to c.Scratch; otherwise it is a view of the path.
func (c *Ctx) ParamDecoded(i int) []byte {
	p := c.Param(i)
	if !hasPercent(p) {
		return p
	}
	start := len(c.Scratch)
	var ok bool
	c.Scratch, ok = http1.AppendUnescape(c.Scratch, p, false)
	if !ok {
		c.Scratch = c.Scratch[:start]
		return p
	}
	return c.Scratch[start:len(c.Scratch):len(c.Scratch)]
}

func hasPercent(b []byte) bool {
	for _, ch := range b {
		if ch == '%' {
			return true
		}
	}
	return false
}

// StatusCode returns the status set so far (200 if none).
func (c *Ctx) StatusCode() int {
	if c.status == 0 {
		return 200
	}
	return c.status
}

// SetStatus sets the response status.
func (c *Ctx) SetStatus(code int) { c.status = code }

// SetHeader adds a response header line. Content-Length, Connection and Date
// are the server's; handlers must not set them.
func (c *Ctx) SetHeader(name, value string) {
	c.hdrs = append(c.hdrs, name...)
	c.hdrs = append(c.hdrs, ": "...)
	c.hdrs = append(c.hdrs, value...)
	c.hdrs = append(c.hdrs, "\r\n"...)
}

// SetHeaderBytes is SetHeader for byte-slice values, without allocation.
func (c *Ctx) SetHeaderBytes(name string, value []byte) {
	c.hdrs = append(c.hdrs, name...)
	c.hdrs = append(c.hdrs, ": "...)
	c.hdrs = append(c.hdrs, value...)
	c.hdrs = append(c.hdrs, "\r\n"...)
}

// AppendRawHeaders adds pre-encoded header lines (each ending in CRLF).
func (c *Ctx) AppendRawHeaders(lines []byte) { c.hdrs = append(c.hdrs, lines...) }

// Headers returns the encoded header lines set so far.
func (c *Ctx) Headers() []byte { return c.hdrs }

// Write appends to the response body.
func (c *Ctx) Write(p []byte) (int, error) {
	c.RespBody = append(c.RespBody, p...)
	return len(p), nil
}

// WriteString appends to the response body.
func (c *Ctx) WriteString(s string) (int, error) {
	c.RespBody = append(c.RespBody, s...)
	return len(s), nil
}

// JSON sets the status and Content-Type application/json; the body is
// whatever the caller appends to RespBody.
func (c *Ctx) JSON(code int) {
	c.status = code
	c.SetHeader("Content-Type", "application/json")
}

// Error answers with a Dapr JSON error: e's status, e's code, msg.
func (c *Ctx) Error(e *apierr.Error, msg string) {
	c.hdrs = c.hdrs[:0]
	c.RespBody = e.AppendJSON(c.RespBody[:0], msg)
	c.JSON(e.Status)
}

// StartStream begins a streamed response (see Streamer).
func (c *Ctx) StartStream(contentLength int64) (io.WriteCloser, error) {
	if c.Streamer == nil {
		return nil, errNoStream
	}
	c.streamed = true
	return c.Streamer.StartStream(c, contentLength)
}

// Streamed reports whether the handler sent its response through StartStream.
func (c *Ctx) Streamed() bool { return c.streamed }

type streamErr string

func (e streamErr) Error() string { return string(e) }

const errNoStream = streamErr("router: streaming needs an async route")

// AppendInt is strconv.AppendInt, here so handlers need one import less.
func AppendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }
