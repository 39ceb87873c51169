package appchannel

import (
	"syscall"
	"unsafe"
)

// alive reports whether an idle connection can still carry a request: a
// non-blocking MSG_PEEK read must find nothing to read (EAGAIN). EOF (the
// app closed it), an error (reset) or unsolicited bytes all disqualify it.
// One syscall; it never consumes data.
func (cn *conn) alive() bool {
	cn.peekN, cn.peekErr = 0, 0
	if err := cn.raw.Read(cn.peekFn); err != nil {
		return false
	}
	return cn.peekN < 0 && (cn.peekErr == syscall.EAGAIN || cn.peekErr == syscall.EWOULDBLOCK)
}

// peekOnce is the RawConn callback; raw syscall so that nothing allocates.
func (cn *conn) peekOnce(fd uintptr) bool {
	n, _, e := syscall.Syscall6(syscall.SYS_RECVFROM, fd,
		uintptr(unsafe.Pointer(&cn.peekByte[0])), 1,
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		cn.peekN, cn.peekErr = -1, e
	} else {
		cn.peekN = int(n)
	}
	return true
}
