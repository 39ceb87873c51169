package loadgen

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The epoll engine runs a whole closed loop on one goroutine: non-blocking
// sockets, one epoll set, and per ready socket a read, the parse, and the
// next write. Compared with a goroutine per connection it saves the park and
// wake-up of a goroutine per request and batches readiness for many sockets
// into one epoll_wait, which on this VM cuts the generator's CPU per request
// by about a third (see README.md).

// econn is one connection of the epoll engine.
type econn struct {
	fd      int
	buf     []byte
	r, w    int
	st      respState
	start   int64  // ns since base when the request in flight was sent
	pending []byte // unsent tail of a request (EPOLLOUT armed)
	open    bool
}

// respState is a response being parsed across reads.
type respState struct {
	inBody bool
	head   respHead
	remain int64
	cs     chunkState
}

// step consumes buffered bytes; done reports a whole response.
func (c *econn) step() (done bool, status int, closeConn bool, err error) {
	st := &c.st
	if !st.inBody {
		h, ok, err := parseHead(c.buf[c.r:c.w])
		if err != nil {
			return false, 0, true, err
		}
		if !ok {
			return false, 0, false, nil
		}
		c.r += h.size
		*st = respState{inBody: true, head: h, remain: h.bodyLen}
	}
	if st.head.bodyLen >= 0 {
		k := min(st.remain, int64(c.w-c.r))
		c.r += int(k)
		st.remain -= k
		if st.remain > 0 {
			return false, 0, false, nil
		}
	} else {
		n, err := st.cs.consume(c.buf[c.r:c.w])
		c.r += n
		if err != nil {
			return false, 0, true, err
		}
		if !st.cs.done {
			return false, 0, false, nil
		}
	}
	st.inBody = false
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	return true, st.head.status, st.head.close, nil
}

// room makes space to read into and returns it.
func (c *econn) room() ([]byte, error) {
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	if c.w == len(c.buf) {
		if c.r > 0 {
			c.w = copy(c.buf, c.buf[c.r:c.w])
			c.r = 0
		} else {
			if len(c.buf) >= maxHead*2 {
				return nil, errMalformed
			}
			nb := make([]byte, len(c.buf)*2)
			copy(nb, c.buf[:c.w])
			c.buf = nb
		}
	}
	return c.buf[c.w:], nil
}

// sockaddr resolves a target once for raw connects.
func sockaddr(t Target) (family int, sa unix.Sockaddr, err error) {
	if t.Network == "unix" {
		return unix.AF_UNIX, &unix.SockaddrUnix{Name: t.Addr}, nil
	}
	a, err := net.ResolveTCPAddr("tcp", t.Addr)
	if err != nil {
		return 0, nil, fmt.Errorf("resolve %s: %w", t.Addr, err)
	}
	if ip4 := a.IP.To4(); ip4 != nil {
		s := &unix.SockaddrInet4{Port: a.Port}
		copy(s.Addr[:], ip4)
		return unix.AF_INET, s, nil
	}
	s := &unix.SockaddrInet6{Port: a.Port}
	copy(s.Addr[:], a.IP.To16())
	return unix.AF_INET6, s, nil
}

// rawDial connects (blocking, loopback is fast) and then makes the socket
// non-blocking.
func rawDial(family int, sa unix.Sockaddr) (int, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	if err := unix.Connect(fd, sa); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("connect: %w", err)
	}
	if family != unix.AF_UNIX {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("nonblock: %w", err)
	}
	return fd, nil
}

// epollEngine is the state of one closed-loop run on epoll.
type epollEngine struct {
	cfg    *Config
	w      *worker // tallies (histogram, codes, errors) for the whole engine
	family int
	sa     unix.Sockaddr
	epfd   int
	conns  []*econn
	byFD   map[int]*econn
	base   time.Time
}

// dialAll opens every connection before the clock starts.
func newEpollEngine(cfg *Config, w *worker) (*epollEngine, error) {
	e := &epollEngine{cfg: cfg, w: w, byFD: map[int]*econn{}}
	var err error
	if e.family, e.sa, err = sockaddr(cfg.Target); err != nil {
		return nil, err
	}
	if e.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	for i := 0; i < cfg.Conns; i++ {
		c := &econn{buf: make([]byte, 16<<10)}
		if err := e.connect(c); err != nil {
			e.close()
			return nil, fmt.Errorf("dial %s %s: %w", cfg.Target.Network, cfg.Target.Addr, err)
		}
		e.conns = append(e.conns, c)
	}
	return e, nil
}

func (e *epollEngine) connect(c *econn) error {
	fd, err := rawDial(e.family, e.sa)
	if err != nil {
		return err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(e.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		unix.Close(fd)
		return fmt.Errorf("epoll add: %w", err)
	}
	c.fd, c.open, c.r, c.w, c.st, c.pending = fd, true, 0, 0, respState{}, nil
	e.byFD[fd] = c
	return nil
}

func (e *epollEngine) drop(c *econn) {
	if !c.open {
		return
	}
	unix.EpollCtl(e.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	unix.Close(c.fd)
	delete(e.byFD, c.fd)
	c.open = false
}

func (e *epollEngine) close() {
	for _, c := range e.conns {
		e.drop(c)
	}
	unix.Close(e.epfd)
}

// send starts a request on c at time now.
func (e *epollEngine) send(c *econn, now int64) error {
	c.start = now
	req := e.cfg.Request
	n, err := unix.Write(c.fd, req)
	if err != nil && err != unix.EAGAIN {
		return fmt.Errorf("write: %w", err)
	}
	if n < 0 {
		n = 0
	}
	if n < len(req) {
		c.pending = req[n:]
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP, Fd: int32(c.fd)}
		if err := unix.EpollCtl(e.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
			return fmt.Errorf("epoll mod: %w", err)
		}
	}
	return nil
}

func (e *epollEngine) flush(c *econn) error {
	n, err := unix.Write(c.fd, c.pending)
	if err != nil && err != unix.EAGAIN {
		return fmt.Errorf("write: %w", err)
	}
	if n > 0 {
		c.pending = c.pending[n:]
	}
	if len(c.pending) == 0 {
		c.pending = nil
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.fd)}
		if err := unix.EpollCtl(e.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
			return fmt.Errorf("epoll mod: %w", err)
		}
	}
	return nil
}

var errPeerClosed = errors.New("connection closed by peer")

// run drives the closed loop until end, then waits for the answers in
// flight until deadline.
func (e *epollEngine) run(base time.Time, measureStart, end int64, deadline time.Time, halt *atomic.Bool) {
	e.base = base
	since := func() int64 { return int64(time.Since(base)) }
	now := since()
	active := 0
	for _, c := range e.conns {
		if err := e.send(c, now); err != nil {
			e.fail(c, now, measureStart, err)
			continue
		}
		active++
	}
	events := make([]unix.EpollEvent, 256)
	for active > 0 && !halt.Load() {
		now = since()
		if now >= end && time.Now().After(deadline) {
			break // answers still missing after the grace period
		}
		n, err := unix.EpollWait(e.epfd, events, 50)
		if err != nil && err != unix.EINTR {
			e.w.fail(fmt.Errorf("epoll wait: %w", err))
			break
		}
		if n <= 0 {
			continue
		}
		now = since()
		for i := 0; i < n; i++ {
			c := e.byFD[int(events[i].Fd)]
			if c == nil {
				continue
			}
			if events[i].Events&unix.EPOLLOUT != 0 && c.pending != nil {
				if err := e.flush(c); err != nil {
					active -= e.restart(c, now, measureStart, end, err)
					continue
				}
			}
			if events[i].Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
				continue
			}
			active -= e.readable(c, now, measureStart, end)
		}
	}
	e.close()
}

// readable reads from c, handles any complete answer, and sends the next
// request. It returns 1 when c went idle for good (run over), else 0.
func (e *epollEngine) readable(c *econn, now, measureStart, end int64) int {
	for {
		room, err := c.room()
		if err != nil {
			return e.restart(c, now, measureStart, end, err)
		}
		n, err := unix.Read(c.fd, room)
		if err == unix.EAGAIN {
			return 0
		}
		if err != nil {
			return e.restart(c, now, measureStart, end, fmt.Errorf("read: %w", err))
		}
		if n == 0 {
			return e.restart(c, now, measureStart, end, errPeerClosed)
		}
		c.w += n
		done, status, closeConn, err := c.step()
		for err == nil && done {
			if c.start >= measureStart && c.start < end {
				e.w.record(e.w.lat, now-c.start)
				e.w.codes[status]++
				e.w.lastDone = now
			}
			if c.r != c.w {
				// Bytes beyond one answer in a closed loop: the server
				// sent something we did not ask for.
				err = errMalformed
				break
			}
			if closeConn {
				e.drop(c)
				if now >= end {
					return 1
				}
				if err := e.connect(c); err != nil {
					e.w.fail(err)
					return 1
				}
			}
			if now >= end {
				e.drop(c)
				return 1
			}
			if err := e.send(c, now); err != nil {
				return e.restart(c, now, measureStart, end, err)
			}
			return 0
		}
		if err != nil {
			return e.restart(c, now, measureStart, end, err)
		}
		if n < len(room) {
			return 0 // drained; wait for more
		}
	}
}

// restart counts err against c's request, reconnects and sends again while
// the run lasts. It returns 1 when c is finished.
func (e *epollEngine) restart(c *econn, now, measureStart, end int64, err error) int {
	e.fail(c, now, measureStart, err)
	e.drop(c)
	if now >= end {
		return 1
	}
	for {
		if cerr := e.connect(c); cerr != nil {
			e.w.fail(cerr)
			time.Sleep(10 * time.Millisecond) // a dead server must not spin us
			now = int64(time.Since(e.base))
			if now >= end {
				return 1
			}
			continue
		}
		if serr := e.send(c, now); serr != nil {
			e.fail(c, now, measureStart, serr)
			e.drop(c)
			continue
		}
		return 0
	}
}

func (e *epollEngine) fail(c *econn, now, measureStart int64, err error) {
	if c.start >= measureStart {
		e.w.fail(err)
	}
}
