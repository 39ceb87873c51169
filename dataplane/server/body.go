package server

import (
	"io"
	"sync"

	"github.com/skiffd/skiff/dataplane/bufpool"
)

// pipeSize bounds how much of a streamed request body sits in memory between
// the connection and the handler reading it.
const pipeSize = 256 << 10

// bodyPipe carries a request body from the event loop (writer, never
// blocks) to a handler on a worker (reader, blocks). When the reader falls
// behind, the loop leaves the bytes in gnet's buffer and the reader wakes the
// loop once it has drained half the pipe.
type bodyPipe struct {
	cn      *conn
	mu      sync.Mutex
	cond    sync.Cond
	buf     *[]byte
	r       int
	werr    error
	rclosed bool
	stalled bool
	scr     []byte // loop-only: decoding scratch
}

func newBodyPipe(cn *conn) *bodyPipe {
	p := &bodyPipe{cn: cn, buf: bufpool.Get(pipeSize)}
	p.cond.L = &p.mu
	return p
}

// room is how many bytes write would accept now (all of them once the
// reader is gone: they are discarded).
func (p *bodyPipe) room() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rclosed {
		return 1 << 30
	}
	n := pipeSize - (len(*p.buf) - p.r)
	if n == 0 {
		p.stalled = true
	}
	return n
}

// markStalled asks the reader to wake the loop once it has drained half the
// pipe. It reports false when that much is free already (the reader may be
// asleep on an empty pipe): then the loop must go on feeding itself.
func (p *bodyPipe) markStalled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rclosed || pipeSize-(len(*p.buf)-p.r) >= pipeSize/2 {
		return false
	}
	p.stalled = true
	return true
}

// scratch returns the loop's decoding buffer, emptied.
func (p *bodyPipe) scratch() []byte {
	if p.scr == nil {
		p.scr = make([]byte, 0, 16<<10)
	}
	return p.scr[:0]
}

// write accepts as much of b as fits and returns how much that was.
func (p *bodyPipe) write(b []byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rclosed {
		return len(b)
	}
	buf := *p.buf
	if p.r > 0 && len(buf)+len(b) > pipeSize {
		n := copy(buf, buf[p.r:])
		buf = buf[:n]
		p.r = 0
	}
	n := min(len(b), pipeSize-len(buf))
	buf = append(buf, b[:n]...)
	*p.buf = buf
	if n < len(b) {
		p.stalled = true
	}
	if n > 0 {
		p.cond.Broadcast()
	}
	return n
}

// closeWrite ends the body: io.EOF after the last byte, or err.
func (p *bodyPipe) closeWrite(err error) {
	if err == nil {
		err = io.EOF
	}
	p.mu.Lock()
	if p.werr == nil {
		p.werr = err
	}
	p.cond.Broadcast()
	p.mu.Unlock()
}

// closeRead is called once the handler is done with the body; the rest of
// it, if any, is discarded as it arrives.
func (p *bodyPipe) closeRead() {
	p.mu.Lock()
	if p.rclosed {
		p.mu.Unlock()
		return
	}
	p.rclosed = true
	bufpool.Put(p.buf)
	p.buf = nil
	wake := p.stalled
	p.stalled = false
	p.mu.Unlock()
	if wake {
		p.cn.wake()
	}
}

// Read implements io.Reader for the handler.
func (p *bodyPipe) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	for !p.rclosed && len(*p.buf) == p.r && p.werr == nil {
		p.cond.Wait()
	}
	if p.rclosed {
		p.mu.Unlock()
		return 0, io.ErrClosedPipe
	}
	if len(*p.buf) == p.r {
		err := p.werr
		p.mu.Unlock()
		return 0, err
	}
	n := copy(b, (*p.buf)[p.r:])
	p.r += n
	if p.r == len(*p.buf) {
		*p.buf = (*p.buf)[:0]
		p.r = 0
	}
	wake := p.stalled && pipeSize-(len(*p.buf)-p.r) >= pipeSize/2
	if wake {
		p.stalled = false
	}
	p.mu.Unlock()
	if wake {
		p.cn.wake()
	}
	return n, nil
}
