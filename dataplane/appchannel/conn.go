package appchannel

import (
	"net"
	"syscall"
	"time"
)

const (
	// rbufSize holds a typical response head and a small body in one read.
	rbufSize = 16 << 10
	// smallBody is the largest body handed over whole as Response.Body.
	smallBody = 64 << 10
	// streamBuf is the copy buffer for streamed request bodies.
	streamBuf = 32 << 10
	// chunkRoom is the headroom left in front of a chunk for its size line.
	chunkRoom = 18
)

// conn is one keep-alive connection to the app. It is used by one call at a
// time; its buffers live as long as it does.
type conn struct {
	nc  *net.TCPConn
	raw syscall.RawConn

	rbuf []byte // len == cap; unread bytes are rbuf[r:w]
	r, w int
	wbuf []byte // request head (and small body) encoder

	idleSince time.Time
	// deadlineSet: a deadline is on the socket and must be cleared before
	// the connection goes back to the pool.
	deadlineSet bool
	// abortFn is bound once so arming cancellation does not allocate a
	// method value per call.
	abortFn func()

	// writer goroutine for large or streamed request bodies.
	wdone chan error

	// peek results (see alive); fields so the RawConn callback is a
	// pre-bound method value and allocates nothing.
	peekFn   func(fd uintptr) bool
	peekN    int
	peekErr  syscall.Errno
	peekByte [1]byte
}

func newConn(nc *net.TCPConn) (*conn, error) {
	raw, err := nc.SyscallConn()
	if err != nil {
		return nil, err
	}
	cn := &conn{
		nc:    nc,
		raw:   raw,
		rbuf:  make([]byte, rbufSize),
		wbuf:  make([]byte, 0, 1024),
		wdone: make(chan error, 1),
	}
	cn.abortFn = cn.abort
	cn.peekFn = cn.peekOnce
	return cn, nil
}

// abort unblocks any Read or Write in progress; used on cancellation.
func (cn *conn) abort() {
	_ = cn.nc.SetDeadline(aLongTimeAgo)
}

var aLongTimeAgo = time.Unix(1, 0)

func (cn *conn) close() { _ = cn.nc.Close() }

// fill reads at least one more byte into rbuf[w:], growing rbuf when it is
// full. Views taken from earlier contents of rbuf stay valid: a grown buffer
// is a new array and the old one is left to the garbage collector.
func (cn *conn) fill() error {
	if cn.w == len(cn.rbuf) {
		if cn.r == cn.w {
			cn.r, cn.w = 0, 0
		} else {
			nb := make([]byte, 2*len(cn.rbuf))
			copy(nb, cn.rbuf[:cn.w])
			cn.rbuf = nb
		}
	}
	n, err := cn.nc.Read(cn.rbuf[cn.w:])
	cn.w += n
	if n > 0 {
		return nil
	}
	return err
}

// compact moves unread bytes to the front; only between responses, when no
// view into rbuf is alive.
func (cn *conn) compact() {
	if cn.r == 0 {
		return
	}
	n := copy(cn.rbuf, cn.rbuf[cn.r:cn.w])
	cn.r, cn.w = 0, n
}

// write writes all of p.
func (cn *conn) write(p []byte) error {
	for len(p) > 0 {
		n, err := cn.nc.Write(p)
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}
