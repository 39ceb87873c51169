package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/bufpool"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// largeWrite is the size above which a response skips the coalescing buffer
// and goes to gnet directly (copying it would cost more than the extra write).
const largeWrite = 32 << 10

// outboundHigh pauses streamed responses while gnet holds this much unsent,
// which with streamHigh bounds the memory a slow reader can pin.
const outboundHigh = 256 << 10

// conn is one client connection. Fields marked loop-only are touched only on
// the connection's event loop; mu guards what workers touch.
type conn struct {
	s  *Server
	gc gnet.Conn

	queue      []*exchange // loop-only: requests in arrival order, answered in this order
	out        *[]byte     // loop-only: responses of this iteration, written once
	partial    *exchange   // loop-only: request whose body is still arriving
	headEx     *exchange   // loop-only: request whose head is still arriving
	closeAfter bool        // loop-only: close once the queue is answered
	refused    bool        // loop-only: closing because a request was refused
	lingering  bool        // loop-only: write side shut, draining input until close
	busy       bool        // loop-only: onTraffic is running
	// gone (loop-only) is set by onClose. A write that fails makes gnet
	// close the connection at once, inside the write: whoever wrote must
	// stop touching the queue and the buffers then.
	gone bool
	app  *loopApp // this loop's app channel; nil when not in use

	headSince   atomic.Int64 // when an incomplete head began; 0 if none
	lingerUntil atomic.Int64

	mu     sync.Mutex
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
	wakeAt atomic.Bool // a delayed wake is pending (outbound backpressure)

	wl         *wakeList   // this loop's wake list (wake.go)
	wakeNext   *conn       // next in wl: set by whoever lists cn, then by the loop that took it
	wakeQueued atomic.Bool // cn is in wl and not yet run
}

func (cn *conn) onTraffic() gnet.Action {
	cn.busy = true
	defer func() { cn.busy = false }()
	if cn.lingering {
		cn.discardAll()
		return gnet.None
	}
	cn.flush()
	for !cn.closeAfter && !cn.gone {
		if cn.partial != nil {
			if !cn.feedPartial() {
				break
			}
			continue
		}
		if len(cn.queue) >= cn.s.cfg.MaxPipeline {
			break
		}
		buf, _ := cn.gc.Peek(-1)
		if len(buf) == 0 {
			break
		}
		if !cn.startRequest(buf) {
			break
		}
	}
	cn.flush()
	cn.writeOut()
	if cn.gone {
		return gnet.None
	}
	if cn.closeAfter && len(cn.queue) == 0 && cn.partial == nil {
		return cn.finish()
	}
	return gnet.None
}

// startRequest parses one request head from buf and dispatches it, or sets
// up the reception of its body. It reports whether to go on parsing.
func (cn *conn) startRequest(buf []byte) bool {
	s := cn.s
	// An incomplete head keeps its exchange: the parser resumes its scan
	// where it stopped instead of starting over on every read.
	ex := cn.headEx
	if ex == nil {
		ex = getExchange(cn)
	}
	req := &ex.c.Req
	n, err := req.Parse(buf, s.cfg.MaxHeadSize)
	if err != nil {
		if err == http1.ErrNeedMore {
			cn.headEx = ex
			if cn.headSince.Load() == 0 {
				cn.headSince.Store(nanotime())
			}
			return false
		}
		cn.headEx = nil
		cn.headSince.Store(0)
		cn.parseFailed(ex, err)
		return false
	}
	cn.headEx = nil
	cn.headSince.Store(0)
	s.inflight.Add(1)
	ex.keepAlive = req.KeepAlive && !s.draining.Load()
	ex.isHead = req.MethodID == http1.MethodHead
	if s.timed {
		ex.start = nanotime()
	}
	cl := req.ContentLength
	bodyHere := !req.Chunked && int64(len(buf)-n) >= max(cl, 0)

	// Refusals: answered at once; the connection survives only if the body
	// (if any) is already here to be skipped.
	var refuse *apierr.Error
	var msg string
	route := cn.route(ex)
	if s.cfg.CORS != nil {
		if isPreflight(req) {
			// Answered before authentication and routing, as daprd's
			// CORS middleware does.
			s.cfg.CORS.preflight(&ex.c)
			refuse = corsPreflight
		} else {
			ex.cors = s.cfg.CORS.mark(req)
		}
	}
	switch {
	case refuse != nil:
	case cl > s.cfg.MaxBodySize:
		refuse, msg = apierr.BodyTooLarge, "request body too large"
	case route == nil && ex.c.Route == nil && ex.notAllowed:
		refuse, msg = apierr.MethodNotAllow, "method not allowed"
	case route == nil:
		refuse, msg = apierr.NotFound, "not found"
	case s.token != nil && !route.NoAuth && !cn.tokenOK(req):
		refuse = apierr.Unauthorized
	}
	if refuse != nil {
		if refuse == apierr.Unauthorized {
			// daprd answers a bad token with net/http's plain-text error.
			ex.c.SetStatus(401)
			ex.c.SetHeader("Content-Type", "text/plain; charset=utf-8")
			ex.c.SetHeader("X-Content-Type-Options", "nosniff")
			ex.c.WriteString("invalid api token\n")
		} else if refuse != corsPreflight {
			ex.c.Error(refuse, msg)
		}
		if bodyHere {
			cn.discard(n + int(max(cl, 0)))
			cn.answerInline(ex)
			return true
		}
		ex.keepAlive = false
		cn.discard(n)
		cn.answerInline(ex)
		cn.closeAfter, cn.refused = true, true
		return false
	}

	if bodyHere {
		if cl > 0 {
			ex.c.Body = buf[n : n+int(cl) : n+int(cl)]
		}
		cn.dispatch(ex, route)
		cn.discard(n + int(max(cl, 0)))
		return true
	}

	// The body is still on its way (or chunked): own the head now.
	if req.Expect100 && len(cn.queue) == 0 {
		cn.appendOut([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	}
	ex.ownHead(buf[:n])
	cn.discard(n)
	ex.remaining = cl
	if route.Mode == router.Stream && (req.Chunked || cl > int64(s.cfg.StreamThreshold)) {
		ex.pipe = newBodyPipe(cn)
		ex.c.BodyStream = ex.pipe
		cn.partial = ex
		ex.startSpan()
		cn.startAsync(ex, route.Handler)
		return true
	}
	// Start small and grow with what really arrives: a client that
	// announces 4 MiB and sends 300 KiB must not pin 4 MiB.
	ex.body = bufpool.Get(int(min(max(cl, 4<<10), 64<<10)))
	cn.partial = ex
	return true
}

// route resolves the handler for ex, remembering a 405 in ex.notAllowed.
func (cn *conn) route(ex *exchange) *router.Route {
	t := cn.s.cfg.Table
	req := &ex.c.Req
	if t.Intercept != nil {
		if r := t.Intercept(req, &ex.c); r != nil {
			ex.c.Route = r
			ex.c.SetPath(req.Path())
			return r
		}
	}
	r, res := t.Match(req.MethodID, req.Path(), &ex.c)
	if res != router.Found && t.Fallback != nil {
		ex.c.Route = t.Fallback
		return t.Fallback
	}
	if res == router.MethodNotAllowed {
		ex.notAllowed = true
	}
	return r
}

func (cn *conn) tokenOK(req *http1.Request) bool {
	got := req.Header("dapr-api-token")
	return subtle.ConstantTimeCompare(got, cn.s.token) == 1
}

// discard drops n consumed bytes. gnet's Discard(0) would drop everything.
func (cn *conn) discard(n int) {
	if n > 0 {
		_, _ = cn.gc.Discard(n)
	}
}

// discardAll drops all buffered input.
func (cn *conn) discardAll() { _, _ = cn.gc.Discard(math.MaxInt) }

// feedPartial moves body bytes of the pending request out of gnet's buffer.
// It reports whether the body is complete (so parsing may go on).
func (cn *conn) feedPartial() bool {
	ex := cn.partial
	buf, _ := cn.gc.Peek(-1)
	if len(buf) == 0 {
		return false
	}
	var used int
	done := false
	if ex.c.Req.Chunked {
		var dst []byte
		src := buf
		if ex.pipe != nil {
			// Decoded bytes never outnumber encoded ones, so feeding at most
			// the pipe's free room guarantees the push below fits: the
			// decoder's state must never run ahead of what we keep.
			room := ex.pipe.room()
			if room == 0 {
				return false
			}
			src = buf[:min(len(buf), room)]
			dst = ex.pipe.scratch()
		} else {
			dst = *ex.body
		}
		out, consumed, fin, err := ex.chunked.Decode(dst, src)
		if err != nil {
			cn.bodyFailed(ex, apierr.Malformed, "invalid chunked body")
			return false
		}
		used, done = consumed, fin
		if ex.pipe != nil {
			// A streamed body is bounded like a buffered one: memory per
			// connection stays bounded whatever the client sends.
			if ex.received += int64(len(out)); ex.received > cn.s.cfg.MaxBodySize {
				cn.bodyFailed(ex, apierr.BodyTooLarge, "request body too large")
				return false
			}
			ex.pipe.write(out)
			if !fin && len(src) < len(buf) {
				// Input was cut to the pipe's room, which is now (nearly)
				// used up: wait for the reader to drain and wake us.
				cn.discard(used)
				return !ex.pipe.markStalled()
			}
		} else {
			if int64(len(out)) > cn.s.cfg.MaxBodySize {
				cn.bodyFailed(ex, apierr.BodyTooLarge, "request body too large")
				return false
			}
			*ex.body = out
		}
	} else {
		take := min(int64(len(buf)), ex.remaining)
		chunk := buf[:take]
		if ex.pipe != nil {
			n := ex.pipe.write(chunk)
			used = n
		} else {
			ex.body = bufpool.Grow(ex.body, len(chunk))
			*ex.body = append(*ex.body, chunk...)
			used = int(take)
		}
		ex.remaining -= int64(used)
		done = ex.remaining == 0
	}
	cn.discard(used)
	if !done {
		return false
	}
	cn.partial = nil
	if ex.pipe != nil {
		ex.pipe.closeWrite(nil)
		return true
	}
	ex.c.Body = *ex.body
	cn.dispatch(ex, ex.c.Route)
	return true
}

// dispatch runs ex's handler: inline on the loop, or on the worker pool.
// An Async or Stream route with an Inline handler runs that on the loop
// first; it may answer, Offload, or call the app from the loop.
func (cn *conn) dispatch(ex *exchange, route *router.Route) {
	ex.startSpan()
	h := route.Handler
	if route.Mode != router.Inline {
		if route.Inline == nil {
			ex.ownBody()
			cn.startAsync(ex, h)
			return
		}
		h = route.Inline
	}
	ex.c.Ctx = context.Background()
	if cn.app != nil {
		ex.c.Caller = ex
	}
	ex.c.Suspender = ex
	h(&ex.c)
	ex.c.Caller = nil
	ex.c.Suspender = nil
	if ex.suspended {
		// Answered later by whoever holds resume (exchange.Suspend).
		ex.suspended = false
		cn.queue = append(cn.queue, ex)
		return
	}
	if h := ex.c.TakeOffload(); h != nil {
		ex.ownBody()
		cn.startAsync(ex, h)
		return
	}
	if ex.appDone != nil {
		// The request stays readable for the completion (errors are worded
		// from it), after gnet's buffer has moved on.
		ex.ownBody()
		cn.queue = append(cn.queue, ex)
		cn.app.start(ex)
		return
	}
	cn.answerInline(ex)
}

// answerInline queues or writes a response that is ready now.
func (cn *conn) answerInline(ex *exchange) {
	if len(cn.queue) == 0 {
		cn.s.logRequest(ex)
		out := cn.outBuf(len(ex.c.RespBody) + 256)
		*out = cn.s.appendResponse(*out, ex)
		if !ex.keepAlive {
			cn.closeAfter = true
		}
		cn.s.inflight.Add(-1)
		ex.release()
		return
	}
	ex.encode()
	ex.done = true
	cn.queue = append(cn.queue, ex)
}

// startAsync queues ex and runs h on the worker pool.
func (cn *conn) startAsync(ex *exchange, h router.Handler) {
	cn.queue = append(cn.queue, ex)
	cn.mu.Lock()
	if cn.ctx == nil {
		cn.ctx, cn.cancel = context.WithCancel(context.Background())
	}
	ex.c.Ctx = cn.ctx
	cn.mu.Unlock()
	ex.c.Streamer = ex
	if !cn.s.pool.submit(func() { ex.run(h) }) {
		ex.c.Error(apierr.TooManyRequests, "too many requests in flight")
		ex.encode()
		cn.mu.Lock()
		ex.done = true
		cn.mu.Unlock()
		if ex.pipe != nil {
			ex.pipe.closeRead()
		}
	}
}

// complete is called by a worker when ex's handler has returned.
func (cn *conn) complete(ex *exchange) {
	cn.mu.Lock()
	ex.done = true
	closed := cn.closed
	cn.mu.Unlock()
	if closed {
		ex.release()
		return
	}
	cn.wake()
}

// flush moves answered requests at the head of the queue to the output,
// in order, stopping at the first that is not answered yet.
func (cn *conn) flush() {
	for len(cn.queue) > 0 {
		ex := cn.queue[0]
		cn.mu.Lock()
		st := ex.stream
		if st != nil {
			if cn.gc.OutboundBuffered() > outboundHigh {
				cn.mu.Unlock()
				cn.wakeLater()
				return
			}
			chunks := st.take()
			fin := st.fin && ex.done
			cn.mu.Unlock()
			for _, ch := range chunks {
				if !cn.gone {
					cn.appendOut(*ch)
				}
				bufpool.Put(ch)
			}
			st.cond.Broadcast()
			if cn.gone {
				return
			}
			if !fin {
				return
			}
		} else {
			done := ex.done
			cn.mu.Unlock()
			if !done {
				return
			}
			if ex == cn.partial {
				// Answered before its body finished arriving: the rest of
				// the body is consumed first, then the answer goes out.
				return
			}
			cn.appendOut(*ex.resp)
			if cn.gone {
				return
			}
		}
		if ex == cn.partial {
			return
		}
		cn.s.logRequest(ex)
		if !ex.keepAlive {
			cn.closeAfter = true
		}
		copy(cn.queue, cn.queue[1:])
		cn.queue[len(cn.queue)-1] = nil
		cn.queue = cn.queue[:len(cn.queue)-1]
		cn.s.inflight.Add(-1)
		ex.release()
		if cn.closeAfter {
			return
		}
	}
}

// wakeLater re-runs the loop for this connection shortly: gnet has no
// "writable" callback, so a paused stream polls until the socket drains.
func (cn *conn) wakeLater() {
	if cn.wakeAt.Swap(true) {
		return
	}
	time.AfterFunc(time.Millisecond, func() {
		cn.wakeAt.Store(false)
		cn.wake()
	})
}

func (cn *conn) outBuf(n int) *[]byte {
	if cn.out == nil {
		cn.out = bufpool.Get(max(n, 4<<10))
	}
	return cn.out
}

func (cn *conn) appendOut(b []byte) {
	if cn.gone {
		return
	}
	if len(b) >= largeWrite {
		cn.writeOut()
		_, _ = cn.gc.Write(b)
		return
	}
	out := cn.outBuf(len(b))
	*out = append(*out, b...)
}

// writeOut hands this iteration's responses to gnet in one write.
func (cn *conn) writeOut() {
	if cn.out == nil {
		return
	}
	if cn.gone {
		bufpool.Put(cn.out)
		cn.out = nil
		return
	}
	if len(*cn.out) > 0 {
		_, _ = cn.gc.Write(*cn.out)
	}
	bufpool.Put(cn.out)
	cn.out = nil
}

// finish ends a connection after its last response: close at once when all
// is written and nothing unread is pending, otherwise shut the write side
// and drain input for a while so the client reads the response before the
// kernel's reset for unread data reaches it.
func (cn *conn) finish() gnet.Action {
	if cn.gc.OutboundBuffered() > 0 {
		cn.wakeLater()
		return gnet.None
	}
	// After refusing a request the client may still be sending (an endless
	// head, a body we will not read): closing now would reset the
	// connection and destroy the answer in flight, so linger.
	if !cn.refused && cn.gc.InboundBuffered() == 0 {
		return gnet.Close
	}
	cn.lingering = true
	_ = unix.Shutdown(cn.gc.Fd(), unix.SHUT_WR)
	cn.discardAll()
	cn.lingerUntil.Store(nanotime() + int64(2*time.Second))
	return gnet.None
}

// parseFailed answers a request whose head could not be parsed with the
// bytes daprd's net/http sends (plain text, Connection: close), then closes.
func (cn *conn) parseFailed(ex *exchange, err error) {
	cn.s.inflight.Add(1)
	ex.keepAlive = false
	cn.discardAll()
	b := bufpool.Get(256)
	*b = http1.AppendErrorResponse(*b, err, time.Now())
	if len(cn.queue) == 0 {
		cn.appendOut(*b)
		bufpool.Put(b)
		cn.s.inflight.Add(-1)
		ex.release()
	} else {
		ex.resp = b
		ex.done = true
		cn.queue = append(cn.queue, ex)
	}
	cn.closeAfter, cn.refused = true, true
}

// bodyFailed abandons a request whose body turned out bad while arriving.
func (cn *conn) bodyFailed(ex *exchange, e *apierr.Error, msg string) {
	cn.partial = nil
	cn.closeAfter, cn.refused = true, true
	cn.discardAll()
	if ex.pipe != nil {
		// The handler is running with part of the body. Unless its answer
		// has begun, ours replaces it; the connection's context is
		// cancelled so whatever it waits on (the app) gives up now.
		cn.mu.Lock()
		if ex.stream == nil {
			ex.failErr, ex.failMsg = e, msg
		}
		cancel := cn.cancel
		cn.mu.Unlock()
		ex.pipe.closeWrite(errors.New(msg))
		if cancel != nil {
			cancel()
		}
		return
	}
	ex.keepAlive = false
	ex.c.Error(e, msg)
	cn.answerInline(ex)
}

// onClose releases what the connection holds. Exchanges still running on a
// worker are released by that worker (complete sees closed).
func (cn *conn) onClose() {
	cn.gone = true
	cn.mu.Lock()
	cn.closed = true
	var release []*exchange
	for _, ex := range cn.queue {
		if ex.stream != nil {
			ex.stream.abort()
		}
		if ex.appDone != nil {
			cn.app.cancel(ex)
			release = append(release, ex)
			continue
		}
		if ex.done {
			release = append(release, ex)
		}
	}
	cancel := cn.cancel
	cn.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	cn.s.inflight.Add(-int64(len(cn.queue)))
	if p := cn.partial; p != nil {
		if p.pipe != nil {
			p.pipe.closeWrite(io.ErrUnexpectedEOF)
		} else {
			cn.s.inflight.Add(-1)
			p.release()
		}
		cn.partial = nil
	}
	for _, ex := range release {
		ex.release()
	}
	if cn.headEx != nil {
		cn.headEx.release()
		cn.headEx = nil
	}
	cn.queue = nil
	if cn.out != nil {
		bufpool.Put(cn.out)
		cn.out = nil
	}
}
