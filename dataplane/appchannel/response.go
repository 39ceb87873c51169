package appchannel

import (
	"errors"
	"io"

	"github.com/skiffd/skiff/dataplane/bufpool"
	"github.com/skiffd/skiff/dataplane/http1"
)

var errNeedMore = http1.ErrNeedMore

// Response is the app's answer. Reuse one per worker: Do resets it.
type Response struct {
	// Status is the response status code.
	Status int
	// ContentLength is the body length, -1 when unknown (chunked, or
	// delimited by the app closing the connection).
	ContentLength int64
	// Body is the whole body when it is at most 64 KiB and was complete
	// when Do returned (always, for a small Content-Length). Otherwise nil,
	// and BodyStream yields the body.
	Body []byte
	// BodyStream is set when Body is not; reading it to EOF before Close
	// lets the connection be reused.
	BodyStream io.Reader

	head    http1.Response
	c       *Client
	cn      *conn
	stop    func() bool // disarms the context's AfterFunc
	writing bool        // a writer goroutine owns cn's write side
	bodyBuf *[]byte     // pooled storage behind Body, if not in rbuf

	reader  bodyReader
	reuse   bool // the connection may carry another request
	drained bool // the body has been read to its end
}

// Header returns the first value of the named header (case-insensitive).
func (r *Response) Header(name string) []byte { return r.head.Header(name) }

// NumHeaders returns how many header fields the response has.
func (r *Response) NumHeaders() int { return r.head.NumHeaders() }

// HeaderAt returns the i-th header field as sent.
func (r *Response) HeaderAt(i int) (name, value []byte) { return r.head.HeaderAt(i) }

// KeepAlive reports whether the app keeps the connection open.
func (r *Response) KeepAlive() bool { return r.head.KeepAlive }

func (r *Response) reset() {
	r.Status, r.ContentLength = 0, 0
	r.Body, r.BodyStream = nil, nil
	r.head.Reset()
	r.c, r.cn, r.stop = nil, nil, nil
	r.writing, r.reuse, r.drained = false, false, false
	r.bodyBuf = nil
	pend := r.reader.pending[:0]
	r.reader = bodyReader{pending: pend}
}

// startBody sets Body or BodyStream after the head is parsed.
func (r *Response) startBody(isHEAD bool) error {
	cn := r.cn
	h := &r.head
	r.Status = h.Status
	r.reuse = h.KeepAlive
	r.reader.resp = r
	switch {
	case !h.HasBody(isHEAD):
		r.ContentLength = 0
		if isHEAD && h.ContentLength > 0 {
			// The length of what a GET would return; nothing follows.
			r.ContentLength = h.ContentLength
		}
		r.drained = true
		return nil
	case h.Chunked:
		r.ContentLength = -1
		r.reader.mode = modeChunked
		r.reader.dec.Reset()
		// If the whole chunked body is already here and small, hand it
		// over whole; never wait for more (a slow stream must flow).
		if cn.w > cn.r && cn.w-cn.r <= smallBody {
			bp := bufpool.Get(cn.w - cn.r)
			out, used, done, err := r.reader.dec.Decode((*bp)[:0], cn.rbuf[cn.r:cn.w])
			if err == nil && done && len(out) <= smallBody {
				*bp = out
				r.bodyBuf = bp
				r.Body = out
				cn.r += used
				r.drained = true
				return r.checkLimit(int64(len(out)))
			}
			bufpool.Put(bp)
			r.reader.dec.Reset()
		}
		r.BodyStream = &r.reader
		return nil
	case h.ContentLength < 0:
		// Delimited by close: never reusable.
		r.ContentLength = -1
		r.reuse = false
		r.reader.mode = modeUntilClose
		r.BodyStream = &r.reader
		return nil
	}
	cl := h.ContentLength
	r.ContentLength = cl
	if err := r.checkLimit(cl); err != nil {
		return err
	}
	if cl > smallBody {
		r.reader.mode = modeLength
		r.reader.left = cl
		r.BodyStream = &r.reader
		return nil
	}
	n := int(cl)
	if cn.r+n <= len(cn.rbuf) {
		// Fits behind the head: read it in place, no copy.
		for cn.w-cn.r < n {
			if err := cn.fill(); err != nil {
				return unexpected(err)
			}
		}
		r.Body = cn.rbuf[cn.r : cn.r+n : cn.r+n]
		cn.r += n
		r.drained = true
		return nil
	}
	bp := bufpool.Get(n)
	b := append((*bp)[:0], cn.rbuf[cn.r:min(cn.w, cn.r+n)]...)
	cn.r += len(b)
	for len(b) < n {
		m, err := cn.nc.Read(b[len(b):n])
		b = b[:len(b)+m]
		if m == 0 && err != nil {
			*bp = b
			bufpool.Put(bp)
			return unexpected(err)
		}
	}
	*bp = b
	r.bodyBuf = bp
	r.Body = b
	r.drained = true
	return nil
}

func (r *Response) checkLimit(n int64) error {
	if r.c.cfg.MaxResponseBody > 0 && n > r.c.cfg.MaxResponseBody {
		return ErrBodyTooLarge
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Close ends the exchange: the connection goes back to the pool when the
// body was read to its end and both sides agree to keep it, otherwise it is
// closed. It releases the concurrency slot. Close is idempotent.
func (r *Response) Close() error {
	cn := r.cn
	if cn == nil {
		return nil
	}
	c := r.c
	ok := r.reuse && r.drained && cn.r == cn.w
	if r.stop != nil && !r.stop() {
		ok = false // cancellation fired: the socket has a past deadline
	}
	r.stop = nil
	var werr error
	if r.writing {
		if !ok {
			cn.close() // unblock the writer
		}
		werr = <-cn.wdone
		r.writing = false
		if werr != nil {
			ok = false
		}
	}
	if ok {
		c.putConn(cn)
	} else {
		cn.close()
	}
	r.release()
	c.releaseSlot()
	return nil
}

// abandon undoes a failed round trip (Do then closes the connection).
func (r *Response) abandon() {
	if r.stop != nil {
		r.stop()
		r.stop = nil
	}
	if r.writing && r.cn != nil {
		r.cn.close()
		<-r.cn.wdone
		r.writing = false
	}
	r.release()
	r.head.Reset()
}

func (r *Response) release() {
	if r.bodyBuf != nil {
		bufpool.Put(r.bodyBuf)
		r.bodyBuf = nil
	}
	r.Body, r.BodyStream = nil, nil
	r.cn, r.c = nil, nil
}

type readMode uint8

const (
	modeLength readMode = iota
	modeChunked
	modeUntilClose
)

// bodyReader streams a body: buffered bytes first, then the socket. Reads
// with nothing buffered go straight into the caller's slice.
type bodyReader struct {
	resp    *Response
	mode    readMode
	left    int64 // modeLength: bytes still to come
	dec     http1.ChunkedDecoder
	pending []byte // modeChunked: decoded, not yet returned
	total   int64
	err     error
}

var errClosedBody = errors.New("appchannel: read on closed response body")

func (b *bodyReader) Read(p []byte) (int, error) {
	r := b.resp
	if b.err != nil {
		return 0, b.err
	}
	if r.drained {
		return 0, io.EOF
	}
	cn := r.cn
	if cn == nil {
		return 0, errClosedBody
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	switch b.mode {
	case modeLength:
		n, err = b.readRaw(cn, p[:min(int64(len(p)), b.left)])
		b.left -= int64(n)
		if b.left == 0 {
			r.drained = true
			err = nil
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	case modeUntilClose:
		n, err = b.readRaw(cn, p)
		if err == io.EOF {
			r.drained = true
		}
	case modeChunked:
		n, err = b.readChunked(cn, p)
	}
	b.total += int64(n)
	if err == nil && r.c.cfg.MaxResponseBody > 0 && b.total > r.c.cfg.MaxResponseBody {
		err = ErrBodyTooLarge
	}
	if err != nil && err != io.EOF {
		b.err = err
		r.reuse = false
	}
	if r.drained && err == nil && n == 0 {
		err = io.EOF
	}
	return n, err
}

// readRaw returns buffered bytes, or reads the socket directly into p.
func (b *bodyReader) readRaw(cn *conn, p []byte) (int, error) {
	if cn.r < cn.w {
		n := copy(p, cn.rbuf[cn.r:cn.w])
		cn.r += n
		return n, nil
	}
	n, err := cn.nc.Read(p)
	if n > 0 {
		return n, nil
	}
	return 0, err
}

func (b *bodyReader) readChunked(cn *conn, p []byte) (int, error) {
	r := b.resp
	for len(b.pending) == 0 {
		if cn.r < cn.w {
			out, used, done, err := b.dec.Decode(b.pending[:0], cn.rbuf[cn.r:cn.w])
			if err != nil {
				return 0, err
			}
			cn.r += used
			b.pending = out
			if done {
				r.drained = true
				break
			}
			if len(out) > 0 || used > 0 {
				continue
			}
		}
		// Need more raw bytes; rbuf holds no views now (the head's views
		// stay valid in a grown or old array, see fill), but compacting
		// would move the head under them, so only reset when empty.
		if cn.r == cn.w {
			cn.r, cn.w = 0, 0
			// The response head lived at the front of rbuf: keep it
			// by switching to a fresh buffer once.
			b.detachHead(cn)
		}
		if err := cn.fill(); err != nil {
			return 0, unexpected(err)
		}
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	if len(b.pending) == 0 {
		b.pending = b.pending[:0:cap(b.pending)]
		if r.drained {
			return n, io.EOF
		}
	}
	return n, nil
}

// detachHead copies the response head out of rbuf before rbuf is reused for
// body bytes, so header views stay valid while the body streams.
func (b *bodyReader) detachHead(cn *conn) {
	r := b.resp
	if r.head.Buf() == nil || len(r.head.Buf()) == 0 {
		return
	}
	hb := r.head.Buf()
	if len(hb) > 0 && len(cn.rbuf) > 0 && &hb[0] == &cn.rbuf[0] {
		cp := make([]byte, r.head.HeadLen)
		copy(cp, hb[:r.head.HeadLen])
		r.head.Rebase(cp)
	}
}
