//go:build kerneltest

package kerneltest

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffd/skiff/dataplane/redirect"
)

// need skips (or, with CI=true, fails) when the shortcut cannot run here.
func need(t *testing.T) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "kernel tests need root (CAP_BPF and CAP_NET_ADMIN) to load and attach eBPF programs"
	} else if _, err := os.Stat("/proc/self/mountinfo"); err != nil {
		why = "no /proc/self/mountinfo"
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: a kernel test may not skip: %s", why)
	}
	t.Skip(why)
}

// attach starts the shortcut for ports (On: failure is fatal) and detaches it
// when the test ends.
func attach(t *testing.T, ports ...uint16) *redirect.Redirect {
	t.Helper()
	r, err := redirect.Start(redirect.Options{Mode: redirect.On, Ports: ports})
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("detach: %v", err)
		}
	})
	return r
}

// echoServer listens on addr and echoes every connection, reading and writing
// in random sizes from 1 B to 256 KiB.
func echoServer(t *testing.T, network, addr string) (net.Listener, uint16) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seed := uint64(1); ; seed++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				rnd := rand.New(rand.NewPCG(seed, 99))
				buf := make([]byte, 256<<10)
				for {
					n, err := c.Read(buf[:1+rnd.IntN(len(buf))])
					for p := buf[:n]; len(p) > 0; {
						k := min(len(p), 1+rnd.IntN(256<<10))
						if _, werr := c.Write(p[:k]); werr != nil {
							return
						}
						p = p[k:]
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln, uint16(ln.Addr().(*net.TCPAddr).Port)
}

// pattern is the byte at offset i of a stream seeded with seed.
func pattern(seed uint64, i int) byte { return byte(uint64(i)*2654435761>>7 ^ seed*31) }

// exchange writes n bytes to c in random chunks while reading the echo back
// in random chunks, and checks every byte.
func exchange(c net.Conn, n int, seed uint64) error {
	errc := make(chan error, 1)
	go func() {
		rnd := rand.New(rand.NewPCG(seed, 1))
		buf := make([]byte, 256<<10)
		for off := 0; off < n; {
			k := min(n-off, 1+rnd.IntN(len(buf)))
			for i := range k {
				buf[i] = pattern(seed, off+i)
			}
			if _, err := c.Write(buf[:k]); err != nil {
				errc <- err
				return
			}
			off += k
		}
		errc <- nil
	}()
	rnd := rand.New(rand.NewPCG(seed, 2))
	buf := make([]byte, 256<<10)
	for off := 0; off < n; {
		k, err := c.Read(buf[:min(n-off, 1+rnd.IntN(len(buf)))])
		for i := range k {
			if buf[i] != pattern(seed, off+i) {
				return errors.New("corrupt echo at byte " + itoa(off+i))
			}
		}
		off += k
		if err != nil {
			if err == io.EOF && off == n {
				break
			}
			return err
		}
	}
	return <-errc
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// dataSegsOut is TCP_INFO's count of segments with data this socket sent.
func dataSegsOut(t *testing.T, c net.Conn) uint32 {
	t.Helper()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info *unix.TCPInfo
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatalf("TCP_INFO: %v", gerr)
	}
	return info.Data_segs_out
}

func addrPort(a net.Addr) netip.AddrPort { return a.(*net.TCPAddr).AddrPort() }

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
