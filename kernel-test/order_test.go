//go:build kerneltest

package kerneltest

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// A client that writes right after connect, before the accepted socket may
// be in the map (its first messages then go over TCP, the next ones are
// redirected), to a server that reads late: the bytes still arrive in order.
func TestOrderAtConnectionStart(t *testing.T) {
	need(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := attach(t, uint16(ln.Addr().(*net.TCPAddr).Port))
	const conns, msgs = 100, 500
	errs := make(chan error, 2*conns)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				errs <- err
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				time.Sleep(10 * time.Millisecond) // let TCP and redirected data pile up
				buf := make([]byte, 4*msgs)
				if _, err := io.ReadFull(c, buf); err != nil {
					errs <- err
					return
				}
				for i := range msgs {
					if got := binary.BigEndian.Uint32(buf[4*i:]); got != uint32(i) {
						errs <- fmt.Errorf("message %d read as %d", i, got)
						return
					}
				}
			}()
		}
	}()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp4", ln.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			var b [4]byte
			for i := range msgs {
				binary.BigEndian.PutUint32(b[:], uint32(i))
				if _, err := c.Write(b[:]); err != nil {
					errs <- err
					return
				}
			}
			_, _ = c.Read(b[:1]) // wait for the server to close
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := r.Status()
	t.Logf("redirected %d msgs, %d misses", s.RedirectedMsgs, s.Misses)
	if s.RedirectedMsgs == 0 {
		t.Fatal("nothing redirected")
	}
}
