package loadgen

import (
	"errors"
	"io"
	"net"
	"syscall"
)

// client is one keep-alive connection and its reused read buffer.
type client struct {
	c    net.Conn
	raw  syscall.RawConn // nil when the conn offers none
	buf  []byte
	r, w int // unread bytes are buf[r:w]

	// state for the send-then-read callback, kept here so the closure is
	// built once per connection instead of once per request
	req     []byte
	sent    bool
	n       int
	err     error
	sendErr error
	rawRead func(fd uintptr) bool
}

func newClient(c net.Conn) *client {
	cl := &client{c: c, buf: make([]byte, 16<<10)}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			cl.raw = raw
		}
	}
	cl.rawRead = cl.sendThenRead
	return cl
}

// send writes req and reads the first bytes of the answer.
//
// Why through RawConn: a plain Write then Read costs three system calls per
// request, because the Read right after the Write almost always finds
// nothing and fails with EAGAIN before parking. Doing the write inside the
// RawConn read callback sends after Go's poller has armed the read wait, so
// an answer arriving at any moment after the write still wakes us, and the
// doomed read is skipped.
func (cl *client) send(req []byte) error {
	if cl.raw == nil || cl.r != cl.w {
		if _, err := cl.c.Write(req); err != nil {
			return err
		}
		return nil
	}
	cl.r, cl.w = 0, 0
	cl.req, cl.sent, cl.n, cl.err, cl.sendErr = req, false, 0, nil, nil
	if err := cl.raw.Read(cl.rawRead); err != nil {
		return err
	}
	if cl.sendErr != nil {
		return cl.sendErr
	}
	if cl.req != nil {
		// Partial write (full socket buffer): finish the slow way.
		if _, err := cl.c.Write(cl.req); err != nil {
			return err
		}
		return nil
	}
	if cl.err != nil {
		return cl.err
	}
	if cl.n == 0 {
		return io.ErrUnexpectedEOF
	}
	cl.w = cl.n
	return nil
}

func (cl *client) sendThenRead(fd uintptr) bool {
	if !cl.sent {
		cl.sent = true
		n, err := syscall.Write(int(fd), cl.req)
		if err != nil && err != syscall.EAGAIN {
			cl.sendErr = err
			return true
		}
		if n < len(cl.req) {
			if n < 0 {
				n = 0
			}
			cl.req = cl.req[n:]
			return true
		}
		cl.req = nil
		return false // wait for the answer
	}
	n, err := syscall.Read(int(fd), cl.buf)
	if err == syscall.EAGAIN {
		return false
	}
	cl.n, cl.err = n, err
	return true
}

// fill reads more bytes, making room first.
func (cl *client) fill() error {
	if cl.r == cl.w {
		cl.r, cl.w = 0, 0
	}
	if cl.w == len(cl.buf) {
		if cl.r > 0 {
			cl.w = copy(cl.buf, cl.buf[cl.r:cl.w])
			cl.r = 0
		} else {
			// A head bigger than the buffer: grow up to maxHead.
			if len(cl.buf) >= maxHead*2 {
				return errMalformed
			}
			nb := make([]byte, len(cl.buf)*2)
			copy(nb, cl.buf[:cl.w])
			cl.buf = nb
		}
	}
	n, err := cl.c.Read(cl.buf[cl.w:])
	cl.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// readResponse reads one whole response and returns its status and whether
// the server wants the connection closed.
func (cl *client) readResponse() (status int, closeConn bool, err error) {
	var h respHead
	for {
		var ok bool
		h, ok, err = parseHead(cl.buf[cl.r:cl.w])
		if err != nil {
			return 0, true, err
		}
		if ok {
			break
		}
		if err := cl.fill(); err != nil {
			return 0, true, err
		}
	}
	cl.r += h.size
	if h.bodyLen >= 0 {
		remain := h.bodyLen
		for {
			avail := int64(cl.w - cl.r)
			if avail >= remain {
				cl.r += int(remain)
				break
			}
			remain -= avail
			cl.r, cl.w = 0, 0
			if err := cl.fill(); err != nil {
				return 0, true, err
			}
		}
	} else {
		var cs chunkState
		for {
			n, err := cs.consume(cl.buf[cl.r:cl.w])
			cl.r += n
			if err != nil {
				return 0, true, err
			}
			if cs.done {
				break
			}
			if err := cl.fill(); err != nil {
				return 0, true, err
			}
		}
	}
	if cl.r == cl.w {
		cl.r, cl.w = 0, 0
	}
	return h.status, h.close, nil
}
