package server

import (
	"errors"
	"io"
	"strconv"
	"sync"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/bufpool"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// exchange is one request and its response. Pooled; owned by the loop until
// handed to a worker, then by the worker until complete, then by the loop
// until its response is flushed.
type exchange struct {
	c  router.Ctx
	cn *conn

	head *[]byte // private copy of the request head (+ body), when not a view
	body *[]byte // body assembled from several reads

	resp   *[]byte // encoded response of an async or queued request
	done   bool    // handler returned (guarded by cn.mu once queued)
	stream *streamState

	keepAlive  bool
	isHead     bool
	notAllowed bool
	cors       uint8 // CORS headers to add (cors.go)
	start      int64

	failErr   *apierr.Error // set (under cn.mu) when the streamed body broke
	failMsg   string
	remaining int64 // Content-Length bytes still to receive
	received  int64 // chunked body bytes decoded so far
	chunked   http1.ChunkedDecoder
	pipe      *bodyPipe

	// A call to the app from the loop (appcall.go); appDone != nil while
	// it is pending (queued for a connection or in flight).
	appReq  *[]byte
	appDone router.AppDone
	// suspended is set by Suspend while the Inline handler runs.
	suspended bool
	resumeFn  func() // ex.resume, bound once (Suspend allocates nothing)
	appConn   *appConn
	appReplay bool
	appTries  int
	appSlot   bool      // holds an --app-max-concurrency slot
	appWait   *slotWait // queued for a slot
	span      any       // the request's span, when tracing is on
}

var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

func getExchange(cn *conn) *exchange {
	ex := exchangePool.Get().(*exchange)
	ex.cn = cn
	if ex.c.Scratch == nil {
		ex.c.Scratch = make([]byte, 0, 512)
	}
	if ex.resumeFn == nil {
		ex.resumeFn = ex.resume
	}
	return ex
}

func (ex *exchange) release() {
	// A request dropped before its answer still ends its span.
	ex.finishSpan()
	if ex.head != nil {
		bufpool.Put(ex.head)
		ex.head = nil
	}
	if ex.body != nil {
		bufpool.Put(ex.body)
		ex.body = nil
	}
	if ex.resp != nil {
		bufpool.Put(ex.resp)
		ex.resp = nil
	}
	if cap(ex.c.RespBody) > 64<<10 {
		ex.c.RespBody = nil
	}
	if cap(ex.c.Scratch) > 64<<10 {
		ex.c.Scratch = nil
	}
	ex.c.Reset()
	ex.c.Req.Reset()
	ex.cn = nil
	ex.done = false
	ex.stream = nil
	ex.keepAlive, ex.isHead, ex.notAllowed, ex.cors = false, false, false, 0
	ex.start, ex.remaining, ex.received = 0, 0, 0
	ex.chunked.Reset()
	ex.pipe = nil
	if ex.appReq != nil {
		bufpool.Put(ex.appReq)
		ex.appReq = nil
	}
	if ex.appSlot && ex.cn != nil && ex.cn.app != nil {
		ex.cn.app.ch.Release() // never leak a slot
	}
	ex.appDone, ex.appConn, ex.appReplay, ex.appTries = nil, nil, false, 0
	ex.appSlot, ex.appWait = false, nil
	ex.failErr, ex.failMsg = nil, ""
	exchangePool.Put(ex)
}

// ownHead copies the request head out of gnet's buffer.
func (ex *exchange) ownHead(head []byte) {
	b := bufpool.Get(len(head))
	*b = append(*b, head...)
	ex.head = b
	ex.c.Req.Rebase(*b)
	ex.c.SetPath(ex.c.Req.Path())
}

// ownBody makes ex independent of gnet's buffer before it leaves the loop.
func (ex *exchange) ownBody() {
	if ex.head != nil {
		return // head owned; the body, if any, lives in ex.body
	}
	head := ex.c.Req.Buf()[:ex.c.Req.HeadLen]
	b := bufpool.Get(len(head) + len(ex.c.Body))
	*b = append(*b, head...)
	*b = append(*b, ex.c.Body...)
	ex.head = b
	ex.c.Req.Rebase((*b)[:len(head)])
	ex.c.SetPath(ex.c.Req.Path())
	if len(ex.c.Body) > 0 {
		ex.c.Body = (*b)[len(head):]
	}
}

// run executes h on a worker goroutine.
func (ex *exchange) run(h router.Handler) {
	cn := ex.cn
	func() {
		defer func() {
			if r := recover(); r != nil {
				cn.s.cfg.Logger.Error("handler panic", "route", routeName(ex.c.Route), "panic", r)
				if !ex.c.Streamed() {
					ex.c.Error(apierr.Internal, "internal error")
				}
			}
		}()
		h(&ex.c)
	}()
	if ex.pipe != nil {
		ex.pipe.closeRead()
	}
	cn.mu.Lock()
	st, failErr, failMsg := ex.stream, ex.failErr, ex.failMsg
	cn.mu.Unlock()
	switch {
	case st != nil:
		_ = st.Close()
	case failErr != nil:
		ex.keepAlive = false
		ex.c.Error(failErr, failMsg)
		ex.encode()
	default:
		ex.encode()
	}
	cn.complete(ex)
}

// Suspend implements router.Suspender: the exchange stays queued once the
// Inline handler returns, and resume completes it as a worker would.
func (ex *exchange) Suspend(c *router.Ctx) (resume func()) {
	ex.suspended = true
	return ex.resumeFn
}

func (ex *exchange) resume() {
	ex.encode()
	ex.cn.complete(ex)
}

// encode renders the response into ex.resp.
func (ex *exchange) encode() {
	b := bufpool.Get(len(ex.c.RespBody) + len(ex.c.Headers()) + 128)
	*b = ex.cn.s.appendResponse(*b, ex)
	ex.resp = b
}

// startSpan starts the request's span when tracing is on.
func (ex *exchange) startSpan() {
	if t := ex.cn.s.cfg.Tracing; t != nil {
		ex.span = t.Start(&ex.c)
	}
}

// finishSpan ends the request's span, once, before its head is encoded.
func (ex *exchange) finishSpan() {
	if ex.span != nil {
		ex.cn.s.cfg.Tracing.Finish(&ex.c, ex.span)
		ex.span = nil
	}
}

func routeName(r *router.Route) string {
	if r == nil {
		return ""
	}
	return r.Name
}

// appendResponse encodes status line, headers and body of ex.
func (s *Server) appendResponse(dst []byte, ex *exchange) []byte {
	c := &ex.c
	ex.finishSpan()
	status := c.StatusCode()
	dst = http1.AppendStatusLine(dst, 1, status)
	dst = append(dst, *s.date.Load()...)
	dst = append(dst, c.Headers()...)
	if ex.cors != 0 {
		dst = s.cfg.CORS.appendHeaders(dst, ex.cors, &c.Req)
	}
	bodyAllowed := status >= 200 && status != 204 && status != 304
	if bodyAllowed {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(c.RespBody)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = ex.appendConnection(dst)
	dst = append(dst, "\r\n"...)
	if bodyAllowed && !ex.isHead {
		dst = append(dst, c.RespBody...)
	}
	return dst
}

func (ex *exchange) appendConnection(dst []byte) []byte {
	if !ex.keepAlive {
		return append(dst, "Connection: close\r\n"...)
	}
	if ex.c.Req.ProtoMinor == 0 {
		return append(dst, "Connection: keep-alive\r\n"...)
	}
	return dst
}

// logRequest runs once per answered request: metrics, then the API log.
func (s *Server) logRequest(ex *exchange) {
	if s.cfg.Metrics != nil {
		s.observe(ex)
	}
	if !s.cfg.APILogging {
		return
	}
	s.logAPICall(ex)
}

// StartStream implements router.Streamer: the head goes out now, the body
// as the handler writes it, in order with the connection's other responses.
func (ex *exchange) StartStream(c *router.Ctx, contentLength int64) (io.WriteCloser, error) {
	cn := ex.cn
	ex.finishSpan()
	st := &streamState{ex: ex, chunked: contentLength < 0}
	st.cond.L = &cn.mu
	h := bufpool.Get(256 + len(c.Headers()))
	status := c.StatusCode()
	*h = http1.AppendStatusLine(*h, 1, status)
	*h = append(*h, *cn.s.date.Load()...)
	*h = append(*h, c.Headers()...)
	if ex.cors != 0 {
		*h = cn.s.cfg.CORS.appendHeaders(*h, ex.cors, &c.Req)
	}
	noBody := status < 200 || status == 204 || status == 304
	switch {
	case noBody:
		st.discard = true
	case st.chunked && ex.c.Req.ProtoMinor == 0:
		// HTTP/1.0 has no chunked coding: delimit by closing.
		st.chunked = false
		ex.keepAlive = false
	case st.chunked:
		*h = append(*h, "Transfer-Encoding: chunked\r\n"...)
	default:
		*h = append(*h, "Content-Length: "...)
		*h = strconv.AppendInt(*h, contentLength, 10)
		*h = append(*h, "\r\n"...)
	}
	*h = ex.appendConnection(*h)
	*h = append(*h, "\r\n"...)
	if ex.isHead {
		st.discard = true
		st.chunked = false
	}
	cn.mu.Lock()
	if cn.closed {
		cn.mu.Unlock()
		bufpool.Put(h)
		return nil, errConnClosed
	}
	ex.stream = st
	st.chunks = append(st.chunks, h)
	st.pending = len(*h)
	cn.mu.Unlock()
	cn.wake()
	return st, nil
}

var errConnClosed = errors.New("server: client connection closed")

// streamState is a response body in transit from a worker to the loop.
// Guarded by the connection's mu (cond.L).
type streamState struct {
	ex      *exchange
	cond    sync.Cond
	chunks  []*[]byte
	pending int
	chunked bool
	discard bool
	fin     bool
	aborted bool
	sent    int64 // body bytes written, for metrics
}

// streamHigh is how much a streaming handler may run ahead of the socket;
// streamChunk is the pooled buffer size streamed bodies are queued in.
const (
	streamHigh  = 256 << 10
	streamChunk = 64 << 10
)

// Write queues p (copied) for the client, waiting while too much is queued.
func (st *streamState) Write(p []byte) (int, error) {
	if len(p) == 0 || st.discard {
		return len(p), nil
	}
	cn := st.ex.cn
	need := len(p) + 24 // chunk-size line and CRLF
	cn.mu.Lock()
	for st.pending > streamHigh && !st.aborted {
		st.cond.Wait()
	}
	if st.aborted || st.fin {
		cn.mu.Unlock()
		return 0, errConnClosed
	}
	// Append to the last queued chunk while it has room, so small writes
	// neither waste pooled capacity nor turn into small socket writes.
	var b *[]byte
	if n := len(st.chunks); n > 0 && cap(*st.chunks[n-1])-len(*st.chunks[n-1]) >= need {
		b = st.chunks[n-1]
	} else {
		b = bufpool.Get(max(need, streamChunk))
		st.chunks = append(st.chunks, b)
	}
	before := len(*b)
	if st.chunked {
		*b = http1.AppendChunk(*b, p)
	} else {
		*b = append(*b, p...)
	}
	st.pending += len(*b) - before
	st.sent += int64(len(p))
	cn.mu.Unlock()
	cn.wake()
	return len(p), nil
}

// Close ends the body. Safe to call twice.
func (st *streamState) Close() error {
	cn := st.ex.cn
	cn.mu.Lock()
	if st.fin {
		cn.mu.Unlock()
		return nil
	}
	st.fin = true
	if st.chunked && !st.aborted {
		b := bufpool.Get(8)
		*b = http1.AppendLastChunk(*b)
		st.chunks = append(st.chunks, b)
	}
	cn.mu.Unlock()
	cn.wake()
	return nil
}

// CloseWithError ends the body as broken: nothing more is sent and the
// connection closes after what is queued, so the client sees a truncated
// response instead of a complete one.
func (st *streamState) CloseWithError(error) error {
	cn := st.ex.cn
	cn.mu.Lock()
	if st.fin {
		cn.mu.Unlock()
		return nil
	}
	st.fin = true
	st.ex.keepAlive = false
	cn.mu.Unlock()
	cn.wake()
	return nil
}

// take hands the queued chunks to the loop. Caller holds cn.mu.
func (st *streamState) take() []*[]byte {
	c := st.chunks
	st.chunks = nil
	st.pending = 0
	return c
}

// abort wakes a blocked writer after the client went away. Caller holds cn.mu.
func (st *streamState) abort() {
	st.aborted = true
	for _, b := range st.chunks {
		bufpool.Put(b)
	}
	st.chunks = nil
	st.cond.Broadcast()
}
