package sink

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// Response is what every request gets.
var Response = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")

// Server is a running sink.
type Server struct {
	gnet.BuiltinEventEngine
	addr   string
	loops  int
	booted chan struct{}
	eng    gnet.Engine
	done   chan struct{} // closed when gnet.Run returns
	err    error         // what it returned
}

type connState struct {
	skip int64 // body bytes still to discard
}

// Start listens on addr ("127.0.0.1:9000") with the given number of event
// loops and returns once it accepts connections.
func Start(addr string, loops int) (*Server, error) {
	if loops <= 0 {
		loops = 1
	}
	s := &Server{addr: "tcp://" + addr, loops: loops, booted: make(chan struct{}), done: make(chan struct{})}
	go func() {
		s.err = gnet.Run(s, s.addr, gnet.WithNumEventLoop(loops), gnet.WithReuseAddr(true), gnet.WithTCPNoDelay(gnet.TCPNoDelay))
		close(s.done)
	}()
	select {
	case <-s.booted:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("sink start: %w", s.err)
	case <-time.After(5 * time.Second):
		return nil, fmt.Errorf("sink start: timed out")
	}
}

// Stop shuts the server down.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.eng.Stop(ctx); err != nil {
		return fmt.Errorf("sink stop: %w", err)
	}
	<-s.done
	return nil
}

// Wait blocks until the server stops.
func (s *Server) Wait() error {
	<-s.done
	return s.err
}

func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	close(s.booted)
	return gnet.None
}

func (s *Server) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	c.SetContext(&connState{})
	return nil, gnet.None
}

func (s *Server) OnTraffic(c gnet.Conn) gnet.Action {
	st := c.Context().(*connState)
	buf, _ := c.Peek(-1)
	used, answers := 0, 0
	for used < len(buf) {
		if st.skip > 0 {
			k := int64(len(buf) - used)
			if k > st.skip {
				k = st.skip
			}
			used += int(k)
			st.skip -= k
			continue
		}
		end := bytes.Index(buf[used:], []byte("\r\n\r\n"))
		if end < 0 {
			if len(buf)-used > 64<<10 {
				return gnet.Close
			}
			break
		}
		st.skip = contentLength(buf[used : used+end])
		used += end + 4
		answers++
	}
	c.Discard(used)
	if answers == 1 {
		c.Write(Response)
	} else if answers > 1 {
		c.Write(bytes.Repeat(Response, answers))
	}
	return gnet.None
}

// contentLength finds a Content-Length header in a request head.
func contentLength(head []byte) int64 {
	const name = "\ncontent-length:"
	for i := 0; i+len(name) <= len(head); i++ {
		if head[i] != '\n' {
			continue
		}
		match := true
		for j := 1; j < len(name); j++ {
			c := head[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != name[j] {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		var n int64
		for k := i + len(name); k < len(head) && head[k] != '\r'; k++ {
			if c := head[k]; c >= '0' && c <= '9' {
				n = n*10 + int64(c-'0')
			}
		}
		return n
	}
	return 0
}
