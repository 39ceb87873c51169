package pubsub

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/skiffd/skiff/dataplane/http1"
)

// Pipelined delivery: one keep-alive connection per subscription carries
// its deliveries back to back (HTTP/1.1 pipelining) and the answers come
// back in the same order, so a topic keeps its order at the app while many
// messages are in flight. The app's HTTP server handles a connection's
// requests one after the other, so it sees them in publish order. Used when
// the app channel has no --app-max-concurrency limit; otherwise delivery
// goes one message at a time through the app channel.

// PipeTarget says where and how to reach the app.
type PipeTarget struct {
	Addr     string // host:port
	APIToken string // APP_API_TOKEN, sent as dapr-api-token
	// Window is how many messages of a topic may be in flight (default 64).
	Window int
	// Timeout, when set, gives the connection up once the app has sent
	// nothing for that long while deliveries wait for their answers.
	Timeout time.Duration
}

type pend struct {
	msg   Message
	done  func(error)
	start time.Time // set only when deliveries are observed
}

type pipe struct {
	d      *deliverer
	target PipeTarget

	mu    sync.Mutex
	conn  net.Conn
	out   []byte
	spare []byte
	// pending[ph:] are sent (or about to be), answers awaited in this
	// order; the array is reused so that steady delivery allocates nothing.
	pending []pend
	ph      int
	kick    chan struct{}
	closed  bool
	// After a lost connection the component redelivers the failed
	// messages, oldest first. A new message handed out before it learnt of
	// the failure would overtake them on the new connection, so until a
	// redelivery arrives new messages are refused (they come again later,
	// in order).
	broken bool
}

func newPipe(ctx context.Context, d *deliverer, target PipeTarget) *pipe {
	p := &pipe{d: d, target: target, kick: make(chan struct{}, 1)}
	go p.writer(ctx)
	context.AfterFunc(ctx, p.close)
	return p
}

func (p *pipe) close() {
	p.mu.Lock()
	p.closed = true
	c := p.conn
	p.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// handleAsync is the component's AsyncHandler.
func (d *deliverer) handleAsync(ctx context.Context, msg *Message, done func(error)) {
	body, path, ok := d.prepare(ctx, msg)
	if !ok {
		done(nil)
		return
	}
	p := d.pipes[msg.Lane%len(d.pipes)]
	p.mu.Lock()
	if p.broken {
		if !msg.Redelivered {
			p.mu.Unlock()
			done(errRetry)
			return
		}
		p.broken = false
	}
	if p.closed {
		p.mu.Unlock()
		done(errRetry)
		return
	}
	b := p.out
	b = append(b, "POST "...)
	if len(path) == 0 || path[0] != '/' {
		b = append(b, '/')
	}
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, p.target.Addr...)
	b = append(b, "\r\nContent-Type: application/cloudevents+json\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	if tp := traceParentOf(body); tp != nil {
		b = append(b, "\r\ntraceparent: "...)
		b = append(b, tp...)
	}
	if p.target.APIToken != "" {
		b = append(b, "\r\ndapr-api-token: "...)
		b = append(b, p.target.APIToken...)
	}
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	p.out = b
	pe := pend{msg: *msg, done: done}
	if d.obs != nil {
		pe.start = time.Now()
	}
	p.pending = append(p.pending, pe)
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// writer flushes what handlers queued, dialling when needed.
func (p *pipe) writer(ctx context.Context) {
	for {
		select {
		case <-p.kick:
		case <-ctx.Done():
			p.failAll(nil, true)
			return
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			p.failAll(nil, true)
			return
		}
		if len(p.out) == 0 {
			p.mu.Unlock()
			continue
		}
		c := p.conn
		if c == nil {
			var err error
			c, err = net.DialTimeout("tcp", p.target.Addr, 5*time.Second)
			if err != nil {
				p.mu.Unlock()
				p.d.a.log.Debug("pubsub: cannot reach the app: "+err.Error(), "topic", p.d.s.Topic)
				p.failAll(nil, false)
				continue
			}
			p.conn = c
			go p.reader(ctx, c)
		}
		buf := p.out
		p.out = p.spare[:0]
		p.mu.Unlock()
		_, err := c.Write(buf)
		p.mu.Lock()
		p.spare = buf[:0]
		p.mu.Unlock()
		if err != nil {
			_ = c.Close() // the reader fails what is pending
		} else if p.target.Timeout > 0 {
			p.armRead(c)
		}
	}
}

// failAll settles every pending delivery as failed (connection lost or not
// made) and forgets what was not written; c, when set, must still be the
// current connection. At shutdown the messages are only handed back (no
// dead-lettering).
func (p *pipe) failAll(c net.Conn, shutdown bool) {
	p.mu.Lock()
	if c != nil && p.conn != c {
		p.mu.Unlock()
		return
	}
	p.conn = nil
	failed := p.pending[p.ph:]
	p.pending, p.ph = nil, 0
	p.out = p.out[:0]
	if len(failed) > 0 && !shutdown {
		p.broken = true
	}
	p.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
	for i := range failed {
		f := &failed[i]
		if shutdown {
			f.done(errRetry)
			continue
		}
		f.done(p.d.finish(context.Background(), &f.msg, retry, p.elapsed(f)))
	}
}

// elapsed is a pending delivery's time from its hand-off to the
// connection to now; 0 (no clock read) when deliveries are not observed.
func (p *pipe) elapsed(f *pend) time.Duration {
	if p.d.obs == nil {
		return 0
	}
	return time.Since(f.start)
}

// reader matches the app's answers to the pending deliveries, in order.
func (p *pipe) reader(ctx context.Context, c net.Conn) {
	ar := answerReader{c: c, buf: make([]byte, 16<<10)}
	if p.target.Timeout > 0 {
		ar.beforeRead = func() { p.armRead(c) }
	}
	for {
		status, body, keepAlive, err := ar.next()
		if err != nil {
			p.failAll(c, ctx.Err() != nil)
			return
		}
		p.mu.Lock()
		if p.conn != c || p.ph == len(p.pending) {
			p.mu.Unlock()
			p.failAll(c, ctx.Err() != nil)
			return
		}
		f := p.pending[p.ph]
		p.pending[p.ph] = pend{}
		p.ph++
		switch {
		case p.ph == len(p.pending):
			p.pending, p.ph = p.pending[:0], 0
		case p.ph >= 256 && 2*p.ph >= len(p.pending):
			// Never empty under steady load: slide the live part down
			// now and then rather than growing.
			n := copy(p.pending, p.pending[p.ph:])
			clear(p.pending[n:])
			p.pending, p.ph = p.pending[:n], 0
		}
		p.mu.Unlock()
		out := verdict(status, body, p.d)
		f.done(p.d.finish(ctx, &f.msg, out, p.elapsed(&f)))
		if !keepAlive {
			p.failAll(c, ctx.Err() != nil)
			return
		}
	}
}

// maxAnswerBody bounds an answer's body: a delivery's answer is a short
// status, anything bigger is a broken app.
const maxAnswerBody = 16 << 20

var errAnswerTooLarge = errors.New("pubsub: the app's answer to a delivery is too large")

// answerReader reads the app's answers off a pipelined connection with the
// data plane's response parser, in one reused buffer. The body returned by
// next is valid until the following call.
type answerReader struct {
	c io.Reader // the connection
	// beforeRead, when set, runs before each blocking read (the pipe's
	// answer deadline).
	beforeRead func()
	buf        []byte
	r, w       int // unread bytes are buf[r:w]
	head       http1.Response
	dec        http1.ChunkedDecoder
	body       []byte // a body that did not fit in buf, or a chunked one
}

// fill reads more bytes into buf after compacting it, growing it when a
// head is larger than buf. Views into buf die here.
func (ar *answerReader) fill() error {
	if ar.r > 0 {
		ar.w = copy(ar.buf, ar.buf[ar.r:ar.w])
		ar.r = 0
	}
	if ar.w == len(ar.buf) {
		nb := make([]byte, 2*len(ar.buf))
		copy(nb, ar.buf[:ar.w])
		ar.buf = nb
	}
	if ar.beforeRead != nil {
		ar.beforeRead()
	}
	n, err := ar.c.Read(ar.buf[ar.w:])
	ar.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// armRead sets c's read deadline to Timeout from now while answers are
// owed on it, and clears it while it is idle. The reader calls it before
// each read and the writer after each write (a read that began idle must
// not wait forever for a delivery written since); both under p.mu, so a
// clear never overtakes an arm. The runtime's poller keeps deadlines: no
// system call.
func (p *pipe) armRead(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var t time.Time
	if p.conn == c && p.ph < len(p.pending) {
		t = time.Now().Add(p.target.Timeout)
	}
	_ = c.SetReadDeadline(t)
}

// next returns the next final answer (1xx interim answers are skipped).
func (ar *answerReader) next() (status int, body []byte, keepAlive bool, err error) {
	h := &ar.head
	h.Reset()
	for {
		n, perr := h.Parse(ar.buf[ar.r:ar.w], 0)
		if perr == nil {
			ar.r += n
			if h.Status >= 200 {
				break
			}
			if h.Status == 101 {
				return 0, nil, false, errors.New("pubsub: unexpected 101 Switching Protocols")
			}
			h.Reset()
			continue
		}
		if perr != http1.ErrNeedMore {
			return 0, nil, false, perr
		}
		if err := ar.fill(); err != nil {
			return 0, nil, false, err
		}
	}
	status, keepAlive = h.Status, h.KeepAlive
	switch {
	case !h.HasBody(false):
		return status, nil, keepAlive, nil
	case h.Chunked:
		body, err = ar.chunked()
		return status, body, keepAlive, err
	case h.ContentLength < 0:
		body, err = ar.untilClose()
		return status, body, false, err
	case h.ContentLength > maxAnswerBody:
		return 0, nil, false, errAnswerTooLarge
	}
	n := int(h.ContentLength)
	if ar.w-ar.r >= n {
		// The common case: the whole body came with the head.
		body = ar.buf[ar.r : ar.r+n : ar.r+n]
		ar.r += n
		return status, body, keepAlive, nil
	}
	b := append(ar.body[:0], ar.buf[ar.r:ar.w]...)
	ar.r, ar.w = 0, 0
	if cap(b) < n {
		b = append(b, make([]byte, n-len(b))...)[:len(b)]
	}
	for len(b) < n {
		m, rerr := ar.c.Read(b[len(b):n])
		b = b[:len(b)+m]
		if m == 0 {
			if rerr == nil || rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return 0, nil, false, rerr
		}
	}
	ar.body = b
	return status, b, keepAlive, nil
}

func (ar *answerReader) chunked() ([]byte, error) {
	ar.dec.Reset()
	b := ar.body[:0]
	for {
		if ar.r < ar.w {
			out, used, done, err := ar.dec.Decode(b, ar.buf[ar.r:ar.w])
			if err != nil {
				return nil, err
			}
			ar.r += used
			b = out
			if len(b) > maxAnswerBody {
				return nil, errAnswerTooLarge
			}
			if done {
				ar.body = b
				return b, nil
			}
		}
		if ar.r == ar.w {
			ar.r, ar.w = 0, 0
		}
		if err := ar.fill(); err != nil {
			return nil, unexpectedEOF(err)
		}
	}
}

func (ar *answerReader) untilClose() ([]byte, error) {
	b := append(ar.body[:0], ar.buf[ar.r:ar.w]...)
	ar.r, ar.w = 0, 0
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := ar.c.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > maxAnswerBody {
			return nil, errAnswerTooLarge
		}
		if err == io.EOF {
			ar.body = b
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
