package server

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/bufpool"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// The event loop's app channel (router.Ctx.CallApp): connections to the app
// live in the same gnet loop as the client connection that calls it, so a
// small invocation is written, answered, parsed and flushed to the client
// without leaving the loop: no goroutine, no lock, no Wake.
//
//   - Each loop keeps its own idle keep-alive connections (most recently
//     used first). A call takes one, or waits in the loop's queue while a
//     connection is dialed (in a goroutine, then enrolled in the loop).
//   - The response head is parsed incrementally as bytes arrive. A body of
//     at most 64 KiB with a Content-Length, or a chunked body complete in the
//     read that completed the head, is answered from the loop. Anything
//     larger or open-ended (a chunked body still flowing, a body delimited
//     by close) is handed to a worker: the socket is duplicated out of gnet
//     into Go's netpoller and read with blocking I/O, streamed to the client
//     through the server's streaming writer with its backpressure. gnet
//     cannot pause reading a connection, so streaming on the loop would
//     buffer a fast app's body without bound behind a slow client.
//   - A connection idle in the pool that the app closes is seen at once (the
//     loop gets its EOF) and dropped, so no MSG_PEEK is needed before reuse.
//     A replayable request that still meets a closed reused connection
//     before any response byte is sent once more (appchannel's rule).
//   - When the client goes away, its calls' app connections are closed,
//     never reused with a response pending.
//   - --app-max-concurrency is one limit shared with appchannel.Client's
//     workers. A call that finds no free slot queues there; the release
//     that frees one posts it back to its loop (one Execute, only when the
//     limit is reached). The slot is held until the response is complete
//     (or streamed, for a handed-off body) or the client goes away.

const (
	// smallResponse is the largest body answered from the loop.
	smallResponse = 64 << 10
	// loopIdleMax bounds the idle app connections one loop keeps.
	loopIdleMax = 256
)

// loopApp is one event loop's channel to the app. Loop-only: no locks.
type loopApp struct {
	s       *Server
	el      gnet.EventLoop
	ch      *appchannel.Client
	cfg     appchannel.Config
	addr    string
	dialer  net.Dialer
	idle    []*appConn
	dialing int
	waiting []*exchange
}

// appConn is one connection to the app, owned by a loop.
type appConn struct {
	la      *loopApp
	gc      gnet.Conn
	ex      *exchange // call in flight; nil when idle
	resp    http1.Response
	out     router.AppResponse
	headLen int // > 0 once the final response head is parsed
	since   int64
	served  int // responses completed on this connection
	reused  bool
	gotResp bool // a response byte arrived for the call in flight
	dead    bool // closing: never reuse
}

// loopApps maps each event loop to its channel; read once per client
// connection.
type loopApps struct {
	mu sync.Mutex
	m  map[gnet.EventLoop]*loopApp
}

func (s *Server) loopApp(el gnet.EventLoop) *loopApp {
	ch := s.cfg.AppChannel
	if ch == nil || el == nil {
		return nil
	}
	cfg := ch.Settings()
	s.apps.mu.Lock()
	defer s.apps.mu.Unlock()
	if s.apps.m == nil {
		s.apps.m = make(map[gnet.EventLoop]*loopApp)
	}
	la := s.apps.m[el]
	if la == nil {
		la = &loopApp{s: s, el: el, ch: ch, cfg: cfg, addr: ch.Addr()}
		la.dialer.Timeout = cfg.DialTimeout
		s.apps.m[el] = la
	}
	return la
}

// CallApp implements router.AppCaller: the request is copied now and sent
// once the handler has returned (see conn.dispatch).
func (ex *exchange) CallApp(_ *router.Ctx, req []byte, replayable bool, done router.AppDone) {
	if ex.appReq != nil {
		bufpool.Put(ex.appReq) // called twice: the last call wins
	}
	b := bufpool.Get(len(req))
	*b = append(*b, req...)
	ex.appReq, ex.appReplay, ex.appDone = b, replayable, done
}

// slotWait is a call queued for a concurrency slot. dead (loop-only) is set
// when its client went away: a grant posted to the loop afterwards is void.
type slotWait struct {
	appchannel.Waiter
	dead bool
}

// start takes a concurrency slot (or queues for one), then a connection.
func (la *loopApp) start(ex *exchange) {
	if la.ch.Limited() && !ex.appSlot {
		if !la.ch.TryAcquire() {
			w := &slotWait{}
			w.Notify = func() {
				// On the goroutine that released the slot: back to the loop.
				// If the engine is stopping, the client's close cancels the
				// wait and gives the slot back.
				_ = la.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
					if !w.dead {
						ex.appWait = nil
						ex.appSlot = true
						la.assign(ex)
					}
					return nil
				}))
			}
			if !la.ch.Wait(&w.Waiter) {
				ex.appWait = w
				return
			}
		}
		ex.appSlot = true
	}
	la.assign(ex)
}

// cancel ends a pending call whose client went away: its app connection
// is closed (a response is pending on it), or it leaves the queues.
func (la *loopApp) cancel(ex *exchange) {
	switch {
	case ex.appConn != nil:
		ex.appConn.abandon()
		ex.appConn = nil
	case ex.appWait != nil:
		ex.appWait.dead = true
		if la.ch.CancelWait(&ex.appWait.Waiter) {
			la.ch.Release() // granted meanwhile: ours to give back
		}
		ex.appWait = nil
	default:
		la.dropWaiting(ex)
	}
	ex.appDone = nil
	la.endCall(ex)
}

// endCall frees what a finished call held: its request bytes and its
// concurrency slot.
func (la *loopApp) endCall(ex *exchange) {
	if ex.appReq != nil {
		bufpool.Put(ex.appReq)
		ex.appReq = nil
	}
	if ex.appSlot {
		ex.appSlot = false
		la.ch.Release()
	}
}

// assign sends ex's request on an idle connection, or queues it until one
// is ready.
func (la *loopApp) assign(ex *exchange) {
	now := nanotime()
	for n := len(la.idle); n > 0; n = len(la.idle) {
		ac := la.idle[n-1]
		la.idle[n-1] = nil
		la.idle = la.idle[:n-1]
		if now-ac.since > int64(la.cfg.IdleTimeout) {
			ac.closeAsync()
			continue
		}
		ac.send(ex)
		return
	}
	la.waiting = append(la.waiting, ex)
	if len(la.waiting) > la.dialing {
		la.dial()
	}
}

// dial connects in a goroutine (connect is blocking in Go's API) and
// enrolls the connection in this loop; OnOpen (on the loop) then serves the
// queue. A failure comes back to the loop through Execute.
func (la *loopApp) dial() {
	la.dialing++
	go func() {
		err := la.connect()
		if err != nil {
			_ = la.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error {
				la.onDialFailed(err)
				return nil
			}))
		}
	}()
}

func (la *loopApp) connect() error {
	nc, err := la.dialer.Dial("tcp", la.addr)
	if err != nil {
		return err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	ac := &appConn{la: la}
	res, err := la.el.Enroll(gnet.NewContext(context.Background(), ac), nc)
	if err != nil {
		_ = nc.Close()
		return err
	}
	// gnet has opened it on the loop (OnOpen ran) before it answers.
	if r := <-res; r.Err != nil {
		return r.Err
	}
	return nil
}

// onDialFailed fails one waiting call per failed dial, as today's client
// fails the call that dialed.
func (la *loopApp) onDialFailed(err error) {
	la.dialing--
	if len(la.waiting) <= la.dialing {
		return // a released connection served the call this dial was for
	}
	ex := la.popWaiting()
	ex.cn.appAnswer(ex, nil, err)
}

func (la *loopApp) popWaiting() *exchange {
	ex := la.waiting[0]
	copy(la.waiting, la.waiting[1:])
	la.waiting[len(la.waiting)-1] = nil
	la.waiting = la.waiting[:len(la.waiting)-1]
	return ex
}

// dropWaiting removes ex from the queue (its client went away).
func (la *loopApp) dropWaiting(ex *exchange) bool {
	for i, w := range la.waiting {
		if w == ex {
			copy(la.waiting[i:], la.waiting[i+1:])
			la.waiting[len(la.waiting)-1] = nil
			la.waiting = la.waiting[:len(la.waiting)-1]
			return true
		}
	}
	return false
}

// onOpen: a dialed connection is in the loop.
func (ac *appConn) onOpen(gc gnet.Conn) {
	ac.gc = gc
	ac.la.dialing--
	ac.la.ready(ac)
}

// ready gives a free connection to the first waiting call, or pools it.
func (la *loopApp) ready(ac *appConn) {
	if len(la.waiting) > 0 {
		ac.send(la.popWaiting())
		return
	}
	if len(la.idle) >= loopIdleMax || la.s.draining.Load() {
		ac.closeAsync()
		return
	}
	ac.since = nanotime()
	la.idle = append(la.idle, ac)
}

func (la *loopApp) dropIdle(ac *appConn) {
	for i, c := range la.idle {
		if c == ac {
			copy(la.idle[i:], la.idle[i+1:])
			la.idle[len(la.idle)-1] = nil
			la.idle = la.idle[:len(la.idle)-1]
			return
		}
	}
}

// send writes ex's request. gnet writes now and keeps what the socket does
// not take; a write error closes the connection (onClose handles it).
func (ac *appConn) send(ex *exchange) {
	ac.ex, ex.appConn = ex, ac
	ac.reused = ac.served > 0
	ac.gotResp = false
	ac.headLen = 0
	ac.resp.Reset()
	_, _ = ac.gc.Write(*ex.appReq)
}

// closeAsync closes a connection that no call uses.
func (ac *appConn) closeAsync() {
	ac.dead = true
	if ac.gc != nil {
		_ = ac.gc.Close()
	}
}

// abandon detaches a call whose client went away; the connection is
// closed, never reused with a response pending.
func (ac *appConn) abandon() {
	ac.ex = nil
	ac.closeAsync()
}

// onTraffic parses the response of the call in flight.
func (ac *appConn) onTraffic() gnet.Action {
	ex := ac.ex
	if ex == nil || ac.dead {
		// Bytes nobody asked for: the connection is out of step.
		ac.dead = true
		ac.la.dropIdle(ac)
		return gnet.Close
	}
	buf, _ := ac.gc.Peek(-1)
	ac.gotResp = true
	if ac.headLen == 0 {
		for {
			n, err := ac.resp.Parse(buf, ac.la.cfg.MaxResponseHead)
			if err == http1.ErrNeedMore {
				return gnet.None
			}
			if err != nil {
				return ac.fail(err)
			}
			if ac.resp.Status >= 200 {
				ac.headLen = n
				break
			}
			if ac.resp.Status == 101 {
				return ac.fail(errors.New("appchannel: unexpected 101 Switching Protocols"))
			}
			// 1xx interim answer: skip it.
			ac.discard(n)
			buf = buf[n:]
			ac.resp.Reset()
		}
		return ac.body(buf, true)
	}
	ac.resp.Rebase(buf)
	return ac.body(buf, false)
}

// body answers from the loop when the body is small and here, waits for
// more of a small Content-Length body, or hands the rest to a worker.
func (ac *appConn) body(buf []byte, first bool) gnet.Action {
	h := &ac.resp
	limit := ac.la.cfg.MaxResponseBody
	rest := buf[ac.headLen:]
	switch {
	case !h.HasBody(false):
		return ac.complete(nil, 0, ac.headLen, len(buf))
	case h.Chunked:
		if first {
			src := rest[:min(len(rest), smallResponse+4<<10)]
			bp := bufpool.Get(len(src))
			var dec http1.ChunkedDecoder
			out, used, done, err := dec.Decode((*bp)[:0], src)
			if err == nil && done && len(out) <= smallResponse {
				*bp = out
				if limit > 0 && int64(len(out)) > limit {
					bufpool.Put(bp)
					return ac.fail(appchannel.ErrBodyTooLarge)
				}
				a := ac.complete(out, -1, ac.headLen+used, len(buf))
				bufpool.Put(bp)
				return a
			}
			bufpool.Put(bp)
			if err != nil {
				return ac.fail(err)
			}
		}
		return ac.handoff(buf)
	case h.ContentLength < 0:
		return ac.handoff(buf)
	}
	cl := h.ContentLength
	if limit > 0 && cl > limit {
		return ac.fail(appchannel.ErrBodyTooLarge)
	}
	if cl > smallResponse {
		return ac.handoff(buf)
	}
	if int64(len(rest)) < cl {
		return gnet.None // a small body: wait for the rest in gnet's buffer
	}
	return ac.complete(rest[:cl:cl], cl, ac.headLen+int(cl), len(buf))
}

// complete answers the call with a body read on the loop, then pools the
// connection or closes it.
func (ac *appConn) complete(body []byte, cl int64, used, have int) gnet.Action {
	ex := ac.ex
	ac.ex, ex.appConn = nil, nil
	ac.served++
	if cl < 0 {
		cl = int64(len(body))
	}
	ac.out = router.AppResponse{Status: ac.resp.Status, ContentLength: cl, Head: &ac.resp, Body: body}
	// Extra bytes after the response mean the app is out of step.
	reuse := ac.resp.KeepAlive && used == have && !ac.dead
	ex.cn.appAnswer(ex, &ac.out, nil)
	ac.out = router.AppResponse{}
	if !reuse {
		ac.dead = true
		return gnet.Close
	}
	ac.discard(used)
	ac.la.ready(ac)
	return gnet.None
}

// fail answers the call with err and drops the connection.
func (ac *appConn) fail(err error) gnet.Action {
	ex := ac.ex
	ac.ex, ex.appConn = nil, nil
	ac.dead = true
	ex.cn.appAnswer(ex, nil, err)
	return gnet.Close
}

func (ac *appConn) discard(n int) {
	if n > 0 {
		_, _ = ac.gc.Discard(n)
	}
}

// onClose: the app (or we) closed the connection.
func (ac *appConn) onClose(err error) {
	la := ac.la
	ac.dead = true
	la.dropIdle(ac)
	ex := ac.ex
	if ex == nil {
		return
	}
	ac.ex, ex.appConn = nil, nil
	err = ac.wireError(err)
	if ex.appTries == 0 && ac.reused && !ac.gotResp && ex.appReplay && appchannel.ConnGone(err) {
		// The app closed a pooled connection as we wrote: once more, on
		// the next connection to become ready (fresh, or just proven alive).
		ex.appTries++
		la.waiting = append(la.waiting, nil)
		copy(la.waiting[1:], la.waiting)
		la.waiting[0] = ex
		if len(la.waiting) > la.dialing {
			la.dial()
		}
		return
	}
	ex.cn.appAnswer(ex, nil, err)
}

// wireError words gnet's close reason as Go's client would have seen it.
func (ac *appConn) wireError(err error) error {
	var se *os.SyscallError
	switch {
	case err == nil:
		return net.ErrClosed
	case errors.Is(err, io.EOF):
		if ac.gotResp {
			return io.ErrUnexpectedEOF
		}
		return io.EOF
	case errors.As(err, &se):
		return &net.OpError{Op: se.Syscall, Net: "tcp", Source: ac.gc.LocalAddr(), Addr: ac.gc.RemoteAddr(), Err: se}
	}
	return err
}

// appAnswer completes ex with the app's answer (on the loop) and moves the
// client connection on: flush what is ready, parse what waited.
func (cn *conn) appAnswer(ex *exchange, resp *router.AppResponse, err error) {
	done := ex.appDone
	ex.appDone = nil
	cn.app.endCall(ex)
	func() {
		defer func() {
			if r := recover(); r != nil {
				cn.s.cfg.Logger.Error("app call completion panic", "route", routeName(ex.c.Route), "panic", r)
				ex.c.Error(apierr.Internal, "internal error")
			}
		}()
		done(&ex.c, resp, err)
	}()
	ex.encode()
	cn.mu.Lock()
	ex.done = true
	cn.mu.Unlock()
	cn.resume()
}

// resume runs the client connection as if bytes had arrived: the queue may
// now flush, and requests held back by the pipeline limit may start.
func (cn *conn) resume() {
	if cn.gone {
		return
	}
	if cn.busy {
		// Called back from inside this connection's own onTraffic (a write
		// to the app failed at once): it flushes before it returns.
		return
	}
	if cn.onTraffic() == gnet.Close {
		_ = cn.gc.Close()
	}
}

// handoff moves a large or open-ended body to a worker: the socket is
// duplicated into Go's netpoller (bytes gnet already read go first) and
// the gnet connection is closed; the done callback runs on the worker with
// BodyStream and can stream the body to the client.
func (ac *appConn) handoff(buf []byte) gnet.Action {
	ex := ac.ex
	cn := ex.cn
	nc, err := dupConn(ac.gc.Fd())
	if err != nil {
		return ac.fail(err)
	}
	ac.ex, ex.appConn = nil, nil
	ac.dead = true
	cp := make([]byte, len(buf))
	copy(cp, buf)
	head := &ac.resp // ac is never reused: its head can travel
	head.Rebase(cp)
	rd := &handoffBody{prefix: cp[ac.headLen:], nc: nc, limit: ac.la.cfg.MaxResponseBody}
	resp := &router.AppResponse{Status: head.Status, ContentLength: head.ContentLength, Head: head, BodyStream: rd}
	switch {
	case head.Chunked:
		rd.mode = modeChunked
		resp.ContentLength = -1
	case head.ContentLength < 0:
		rd.mode = modeUntilClose
	default:
		rd.left = head.ContentLength
	}
	done := ex.appDone
	ex.appDone = nil
	// The slot stays taken until the body has streamed: the worker frees it.
	slot := ex.appSlot
	ex.appSlot = false
	cn.app.endCall(ex)
	ch := cn.app.ch

	cn.mu.Lock()
	if cn.ctx == nil {
		cn.ctx, cn.cancel = context.WithCancel(context.Background())
	}
	ex.c.Ctx = cn.ctx
	cn.mu.Unlock()
	ex.c.Streamer = ex
	// The client going away cancels ctx: unblock the reader.
	stop := context.AfterFunc(ex.c.Ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	ok := cn.s.pool.submit(func() {
		ex.run(func(c *router.Ctx) { done(c, resp, nil) })
		stop()
		_ = nc.Close()
		if slot {
			ch.Release()
		}
	})
	if !ok {
		stop()
		_ = nc.Close()
		ex.appSlot = slot
		ex.appDone = done
		cn.appAnswer(ex, nil, errors.New("too many requests in flight"))
	}
	return gnet.Close
}

// dupConn returns a blocking-API net.Conn on a duplicate of fd.
func dupConn(fd int) (net.Conn, error) {
	nfd, err := unix.Dup(fd)
	if err != nil {
		return nil, os.NewSyscallError("dup", err)
	}
	f := os.NewFile(uintptr(nfd), "app")
	defer f.Close()
	return net.FileConn(f) // dups once more; f's descriptor is closed
}

type bodyMode uint8

const (
	modeLength bodyMode = iota
	modeChunked
	modeUntilClose
)

// handoffBody reads a response body on a worker: what gnet had read, then
// the socket; framed by Content-Length, chunked coding or close; bounded by
// MaxResponseBody as appchannel's reader.
type handoffBody struct {
	prefix []byte
	nc     net.Conn
	mode   bodyMode
	left   int64
	limit  int64
	total  int64
	dec    http1.ChunkedDecoder
	raw    []byte // chunked: encoded bytes not yet decoded
	rawBuf []byte
	done   bool
	err    error
}

func (b *handoffBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.done {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	switch b.mode {
	case modeLength:
		n, err = b.readRaw(p[:min(int64(len(p)), b.left)])
		b.left -= int64(n)
		if b.left == 0 {
			b.done, err = true, nil
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	case modeUntilClose:
		n, err = b.readRaw(p)
		if err == io.EOF {
			b.done = true
		}
	case modeChunked:
		n, err = b.readChunked(p)
	}
	b.total += int64(n)
	if err == nil && b.limit > 0 && b.total > b.limit {
		err = appchannel.ErrBodyTooLarge
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	if b.done && err == nil && n == 0 {
		err = io.EOF
	}
	return n, err
}

func (b *handoffBody) readRaw(p []byte) (int, error) {
	if len(b.prefix) > 0 {
		n := copy(p, b.prefix)
		b.prefix = b.prefix[n:]
		return n, nil
	}
	n, err := b.nc.Read(p)
	if n > 0 {
		return n, nil
	}
	return 0, err
}

func (b *handoffBody) readChunked(p []byte) (int, error) {
	for {
		if len(b.raw) == 0 && len(b.prefix) > 0 {
			b.raw, b.prefix = b.prefix, nil
		}
		if len(b.raw) > 0 {
			// Decoded bytes never outnumber encoded ones: feeding at most
			// len(p) keeps the output inside p.
			src := b.raw[:min(len(b.raw), len(p))]
			out, used, done, err := b.dec.Decode(p[:0], src)
			if err != nil {
				return 0, err
			}
			b.raw = b.raw[used:]
			if done {
				b.done = true
				if len(out) == 0 {
					return 0, io.EOF
				}
				return len(out), nil
			}
			if len(out) > 0 {
				return len(out), nil
			}
			if used > 0 {
				continue
			}
		}
		if b.rawBuf == nil {
			b.rawBuf = make([]byte, 32<<10)
		}
		n, err := b.nc.Read(b.rawBuf)
		if n == 0 {
			if err == io.EOF || err == nil {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		b.raw = b.rawBuf[:n]
	}
}
