package appchannel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Config is what the client needs from daprd's command line.
type Config struct {
	// Address is --app-channel-address (default 127.0.0.1).
	Address string
	// Port is --app-port.
	Port int
	// Protocol is --app-protocol; only "http" (or empty) is supported.
	Protocol string
	// MaxConcurrency is --app-max-concurrency: at most this many calls in
	// flight to the app; the others wait for a slot, as daprd's channel
	// does (it queues, it does not answer 429). <= 0 means unlimited.
	MaxConcurrency int
	// AppAPIToken is APP_API_TOKEN: sent to the app as dapr-api-token.
	AppAPIToken string
	// MaxIdleConns bounds the pooled idle connections (default 256).
	MaxIdleConns int
	// IdleTimeout closes connections idle for longer (default 90 s).
	IdleTimeout time.Duration
	// DialTimeout bounds connecting (default 5 s; the call's context may
	// end it sooner).
	DialTimeout time.Duration
	// MaxResponseHead bounds a response head (default 1 MiB, as Go's
	// client).
	MaxResponseHead int
	// PeekAfter: a connection idle at least this long is checked with a
	// MSG_PEEK read before reuse (a syscall, ~2 µs here); one reused
	// sooner is not (default 1 ms; negative checks always). See doc.go.
	PeekAfter time.Duration
	// MaxResponseBody, when > 0, fails a response whose body is larger
	// (daprd limits app responses to --max-body-size).
	MaxResponseBody int64
	// HealthProbe marks the client of the app health checks: with an
	// Observer (SetObserver), its calls count as probes, not app calls.
	HealthProbe bool

	obs *observerRef // shared with clients built from Settings()
}

// Client calls the app. It is safe for concurrent use.
type Client struct {
	cfg    Config
	addr   string // host:port to dial
	host   string // Host header
	dialer net.Dialer
	slots  *slots // --app-max-concurrency; nil when unlimited

	mu     sync.Mutex
	idle   []*conn
	closed bool
}

// ErrClosed is returned by calls made after Close.
var ErrClosed = errors.New("appchannel: client closed")

// ErrBodyTooLarge is returned when a response body exceeds MaxResponseBody.
var ErrBodyTooLarge = errors.New("appchannel: response body too large")

// New checks cfg and returns a client. No connection is made yet.
func New(cfg Config) (*Client, error) {
	switch cfg.Protocol {
	case "", "http":
	default:
		return nil, fmt.Errorf("appchannel: app protocol %q is not supported (only http)", cfg.Protocol)
	}
	if cfg.Port <= 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("appchannel: invalid app port %d", cfg.Port)
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1"
	}
	if cfg.MaxIdleConns <= 0 {
		cfg.MaxIdleConns = 256
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 90 * time.Second
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.PeekAfter == 0 {
		cfg.PeekAfter = time.Millisecond
	}
	if cfg.MaxResponseHead <= 0 {
		cfg.MaxResponseHead = 1 << 20
	}
	if cfg.obs == nil {
		cfg.obs = new(observerRef)
	}
	addr := net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port))
	c := &Client{cfg: cfg, addr: addr, host: addr}
	c.dialer.Timeout = cfg.DialTimeout
	if cfg.MaxConcurrency > 0 {
		c.slots = &slots{free: cfg.MaxConcurrency}
	}
	return c, nil
}

// Addr returns the app's host:port.
func (c *Client) Addr() string { return c.addr }

// HasAppToken reports whether the client sends its own dapr-api-token (so a
// caller must not forward one).
func (c *Client) HasAppToken() bool { return c.cfg.AppAPIToken != "" }

// Probe reports whether the app port accepts TCP connections.
func (c *Client) Probe(ctx context.Context) error {
	nc, err := c.dialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("appchannel: probe: %w", err)
	}
	return nc.Close()
}

// Close closes the idle connections; calls in flight finish, and their
// connections are closed instead of pooled.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, cn := range idle {
		cn.close()
	}
	return nil
}

// Error is a failed call, worded like Go's *url.Error so that daprd's
// messages ("Post \"http://127.0.0.1:3000/m\": dial tcp …: connection
// refused") come out the same.
type Error struct {
	Op  string // method, as Go's client writes it ("Post")
	URL string
	Err error
}

func (e *Error) Error() string { return e.Op + " " + strconv.Quote(e.URL) + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func (c *Client) fail(req *Request, err error) error {
	m := string(req.Method)
	op := m
	if len(m) > 1 {
		op = m[:1] + lowerASCII(m[1:])
	}
	u := "http://" + c.host
	if len(req.Path) == 0 {
		u += "/"
	} else {
		u += string(req.Path)
	}
	if len(req.Query) > 0 {
		u += "?" + string(req.Query)
	}
	return &Error{Op: op, URL: u, Err: err}
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

// do is Do without the observer.
func (c *Client) do(ctx context.Context, req *Request, resp *Response) error {
	resp.reset()
	if c.slots != nil {
		if err := c.slots.acquire(ctx); err != nil {
			return c.fail(req, err)
		}
	}
	for attempt := 0; ; attempt++ {
		cn, reused, err := c.getConn(ctx, attempt > 0)
		if err != nil {
			c.releaseSlot()
			return c.fail(req, err)
		}
		gotBytes, err := c.roundTrip(ctx, cn, req, resp)
		if err == nil {
			return nil
		}
		resp.abandon()
		cn.close()
		if attempt == 0 && reused && !gotBytes && ctx.Err() == nil && connGone(err) && req.Replayable() {
			continue
		}
		c.releaseSlot()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Only the context sets deadlines on our sockets; the socket's
			// timer may fire a hair before the context's.
			if err = ctx.Err(); err == nil {
				err = context.DeadlineExceeded
			}
		}
		return c.fail(req, err)
	}
}

func (c *Client) releaseSlot() {
	if c.slots != nil {
		c.slots.release()
	}
}

// connGone: the failure looks like the app had closed the connection.
func connGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// getConn returns a live idle connection (most recently used first) or a new
// one. fresh forces a new connection.
func (c *Client) getConn(ctx context.Context, fresh bool) (cn *conn, reused bool, err error) {
	if !fresh {
		now := time.Time{}
		for {
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				return nil, false, ErrClosed
			}
			n := len(c.idle)
			if n == 0 {
				c.mu.Unlock()
				break
			}
			cn = c.idle[n-1]
			c.idle[n-1] = nil
			c.idle = c.idle[:n-1]
			c.mu.Unlock()
			if now.IsZero() {
				now = time.Now()
			}
			idle := now.Sub(cn.idleSince)
			if idle < c.cfg.IdleTimeout && (idle < c.cfg.PeekAfter || cn.alive()) {
				return cn, true, nil
			}
			cn.close()
		}
	}
	nc, err := c.dialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, false, err
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		_ = nc.Close()
		return nil, false, fmt.Errorf("appchannel: dial: unexpected %T", nc)
	}
	_ = tc.SetNoDelay(true)
	cn, err = newConn(tc)
	if err != nil {
		_ = tc.Close()
		return nil, false, err
	}
	return cn, false, nil
}

// putConn returns a healthy connection to the pool.
func (c *Client) putConn(cn *conn) {
	if cn.deadlineSet {
		if cn.nc.SetDeadline(time.Time{}) != nil {
			cn.close()
			return
		}
		cn.deadlineSet = false
	}
	cn.r, cn.w = 0, 0
	cn.idleSince = time.Now()
	c.mu.Lock()
	if c.closed || len(c.idle) >= c.cfg.MaxIdleConns {
		c.mu.Unlock()
		cn.close()
		return
	}
	c.idle = append(c.idle, cn)
	c.mu.Unlock()
}

// roundTrip writes req on cn and reads the response head into resp. It
// reports whether any response byte arrived (then a retry is never safe).
func (c *Client) roundTrip(ctx context.Context, cn *conn, req *Request, resp *Response) (gotBytes bool, err error) {
	resp.c, resp.cn = c, cn
	if d, ok := ctx.Deadline(); ok {
		if err := cn.nc.SetDeadline(d); err != nil {
			return false, err
		}
		cn.deadlineSet = true
	}
	if ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		resp.stop = context.AfterFunc(ctx, cn.abortFn)
	}

	// Head, and a small body in the same write.
	var length int64
	chunked := false
	async := false
	switch {
	case req.BodyStream != nil:
		length = req.ContentLength
		chunked = length < 0
		async = length != 0
	default:
		length = int64(len(req.Body))
		async = length > smallBody
	}
	cn.wbuf = req.appendHead(cn.wbuf[:0], c.host, c.cfg.AppAPIToken, chunked, length)
	if !async && req.BodyStream == nil {
		cn.wbuf = append(cn.wbuf, req.Body...)
	}
	if err := cn.write(cn.wbuf); err != nil {
		return false, err
	}
	if async {
		// The app may answer (or need us to read) before it has read the
		// whole body: write it from another goroutine, as Go's client does.
		resp.writing = true
		go func() { cn.wdone <- writeBody(cn, req, chunked, length) }()
	}

	// Response head; 1xx interim answers are skipped.
	cn.compact()
	for {
		n, perr := resp.head.Parse(cn.rbuf[cn.r:cn.w], c.cfg.MaxResponseHead)
		if perr == nil {
			if resp.head.Status >= 200 {
				cn.r += n
				break
			}
			if resp.head.Status == 101 {
				return true, errors.New("appchannel: unexpected 101 Switching Protocols")
			}
			cn.r += n
			cn.compact()
			resp.head.Reset()
			continue
		}
		if perr != errNeedMore {
			return cn.w > 0, perr
		}
		if err := cn.fill(); err != nil {
			if err == io.EOF && cn.w > 0 {
				err = io.ErrUnexpectedEOF
			}
			return cn.w > 0, err
		}
	}
	return true, resp.startBody(req.isHEAD())
}

// writeBody sends a body that did not go out with the head.
func writeBody(cn *conn, req *Request, chunked bool, length int64) error {
	if req.BodyStream == nil {
		return cn.write(req.Body)
	}
	bp := getStreamBuf()
	defer putStreamBuf(bp)
	buf := *bp
	var sent int64
	for {
		// Read after chunkRoom so that the chunk size line can be put in
		// front without moving the data: one write per chunk.
		n, rerr := req.BodyStream.Read(buf[chunkRoom : len(buf)-2])
		if n > 0 {
			sent += int64(n)
			if !chunked && sent > length {
				return errors.New("appchannel: request body longer than its Content-Length")
			}
			var err error
			if chunked {
				err = cn.write(frameChunk(buf, n))
			} else {
				err = cn.write(buf[chunkRoom : chunkRoom+n])
			}
			if err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("appchannel: reading request body: %w", rerr)
		}
	}
	if chunked {
		return cn.write([]byte("0\r\n\r\n"))
	}
	if sent != length {
		return errors.New("appchannel: request body shorter than its Content-Length")
	}
	return nil
}

// frameChunk puts "<hex>\r\n" before buf[chunkRoom:chunkRoom+n] and "\r\n"
// after it, and returns the framed chunk.
func frameChunk(buf []byte, n int) []byte {
	var hex [16]byte
	i := len(hex)
	for v := n; ; v >>= 4 {
		i--
		hex[i] = "0123456789abcdef"[v&0xf]
		if v < 16 {
			break
		}
	}
	start := chunkRoom - 2 - (len(hex) - i)
	copy(buf[start:], hex[i:])
	buf[chunkRoom-2], buf[chunkRoom-1] = '\r', '\n'
	end := chunkRoom + n
	buf[end], buf[end+1] = '\r', '\n'
	return buf[start : end+2]
}

var streamBufs = sync.Pool{New: func() any {
	b := make([]byte, streamBuf+chunkRoom+2)
	return &b
}}

func getStreamBuf() *[]byte  { return streamBufs.Get().(*[]byte) }
func putStreamBuf(b *[]byte) { streamBufs.Put(b) }

// Settings returns the client's configuration, defaults applied; the event
// loops' channel (dataplane/server) dials and bounds its connections by it.
func (c *Client) Settings() Config { return c.cfg }

// AppendRequest encodes req as it goes on the wire, head and in-memory body,
// for a caller that writes it itself (the event loop's channel).
func (c *Client) AppendRequest(dst []byte, req *Request) []byte {
	dst = req.appendHead(dst, c.host, c.cfg.AppAPIToken, false, int64(len(req.Body)))
	return append(dst, req.Body...)
}

// Fail words err as Do does for req ("Post \"http://…\": …").
func (c *Client) Fail(req *Request, err error) error { return c.fail(req, err) }

// ConnGone reports whether err looks like the app had closed the connection
// (the condition for the one retry of a replayable request, see doc.go).
func ConnGone(err error) bool { return connGone(err) }
