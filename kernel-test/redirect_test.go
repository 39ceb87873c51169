//go:build kerneltest

package kerneltest

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

const eightMiB = 8 << 20

// The shortcut carries the data: its counters move and TCP sends no data
// segment on either socket.
func TestRedirectHappens(t *testing.T) {
	need(t)
	ln, port := echoServer(t, "tcp4", "127.0.0.1:0")
	r := attach(t, port)
	c := dial(t, "tcp4", ln.Addr().String())
	before := r.Status()
	if err := exchange(c, 1<<20, 7); err != nil {
		t.Fatal(err)
	}
	s := r.Status()
	if !s.Active {
		t.Fatalf("not active: %s", s.Reason)
	}
	if s.RedirectedMsgs <= before.RedirectedMsgs || s.RedirectedBytes-before.RedirectedBytes < 2<<20 {
		t.Fatalf("counters did not move by 2 MiB: before %+v after %+v", before.Counters, s.Counters)
	}
	if n := dataSegsOut(t, c); n != 0 {
		t.Fatalf("client sent %d data segments over TCP; want 0", n)
	}
	t.Logf("redirected %d msgs, %d bytes, %d misses, %d sockets", s.RedirectedMsgs, s.RedirectedBytes, s.Misses, s.Sockets)
}

// 8 MiB each way, written and read in random sizes (1 B to 256 KiB) on both
// sides, arrive intact.
func TestIntegrityRandomSizes(t *testing.T) {
	need(t)
	ln, port := echoServer(t, "tcp4", "127.0.0.1:0")
	r := attach(t, port)
	for seed := uint64(1); seed <= 3; seed++ {
		c := dial(t, "tcp4", ln.Addr().String())
		if err := exchange(c, eightMiB, seed); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if n := dataSegsOut(t, c); n != 0 {
			t.Fatalf("seed %d: %d data segments over TCP; want 0", seed, n)
		}
	}
	if s := r.Status(); s.RedirectedBytes < 6*eightMiB {
		t.Fatalf("only %d bytes redirected", s.RedirectedBytes)
	}
}

// 200 connections at once, each with its own random stream.
func TestManyConnections(t *testing.T) {
	need(t)
	ln, port := echoServer(t, "tcp4", "127.0.0.1:0")
	r := attach(t, port)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp4", ln.Addr().String(), 30*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := exchange(c, 128<<10, uint64(100+i)); err != nil {
				errs <- fmt.Errorf("conn %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s := r.Status(); s.Sockets < 400 {
		t.Fatalf("only %d sockets entered the map; want 400 (both ends of 200)", s.Sockets)
	}
}

// A connection made before the attach stays on TCP and keeps working.
func TestConnectionBeforeAttach(t *testing.T) {
	need(t)
	ln, port := echoServer(t, "tcp4", "127.0.0.1:0")
	old := dial(t, "tcp4", ln.Addr().String())
	if err := exchange(old, 64<<10, 1); err != nil {
		t.Fatal(err)
	}
	r := attach(t, port)
	before := dataSegsOut(t, old)
	if err := exchange(old, 1<<20, 2); err != nil {
		t.Fatal(err)
	}
	if dataSegsOut(t, old) == before {
		t.Fatal("the old connection sent no TCP data segments after the attach")
	}
	fresh := dial(t, "tcp4", ln.Addr().String())
	if err := exchange(fresh, 1<<20, 3); err != nil {
		t.Fatal(err)
	}
	if n := dataSegsOut(t, fresh); n != 0 {
		t.Fatalf("a connection made after the attach sent %d TCP data segments", n)
	}
	_ = r
}

// Detaching while data flows loses nothing: the rest of the stream goes over
// TCP.
func TestDetachMidStream(t *testing.T) {
	need(t)
	ln, port := echoServer(t, "tcp4", "127.0.0.1:0")
	r := attach(t, port)
	c := dial(t, "tcp4", ln.Addr().String())
	done := make(chan error, 1)
	go func() { done <- exchange(c, 4*eightMiB, 42) }()
	eventually(t, "1 MiB redirected", func() bool { return r.Status().RedirectedBytes > 1<<20 })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream across the detach: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("stream stalled after the detach")
	}
	if dataSegsOut(t, c) == 0 {
		t.Log("the whole stream was redirected before the detach took effect")
	}
}

// A peer that is not in the map: its messages fall back to TCP (no EACCES),
// and the misses are counted.
func TestPeerNotInMap(t *testing.T) {
	need(t)
	ln, port := echoServer(t, "tcp4", "127.0.0.1:0")
	r := attach(t, port)
	c := dial(t, "tcp4", ln.Addr().String())
	// The server's end leaves the map; the client's end stays.
	if err := r.Forget(addrPort(c.RemoteAddr()), addrPort(c.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	before := r.Status().Misses
	if err := exchange(c, 1<<20, 5); err != nil {
		t.Fatalf("exchange with a peer not in the map: %v", err)
	}
	if r.Status().Misses == before {
		t.Fatal("no miss counted")
	}
	if dataSegsOut(t, c) == 0 {
		t.Fatal("the client's data did not go over TCP")
	}
}

// IPv6 on ::1, and a dual-stack listener whose accepted socket is AF_INET6
// (IPv4-mapped) while the client's is AF_INET: both build the same key.
func TestIPv6AndMapped(t *testing.T) {
	need(t)
	for _, tc := range []struct{ name, network, listen, dial string }{
		{"ipv6-loopback", "tcp6", "[::1]:0", "[::1]"},
		{"ipv4-mapped", "tcp", ":0", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, port := echoServer(t, tc.network, tc.listen)
			r := attach(t, port)
			network := "tcp6"
			if tc.dial == "127.0.0.1" {
				network = "tcp4"
			}
			c2 := dial(t, network, fmt.Sprintf("%s:%d", tc.dial, port))
			if err := exchange(c2, 2<<20, 9); err != nil {
				t.Fatal(err)
			}
			if n := dataSegsOut(t, c2); n != 0 {
				t.Fatalf("%d TCP data segments; want 0", n)
			}
			if s := r.Status(); s.RedirectedBytes < 4<<20 || s.Misses != 0 {
				t.Fatalf("counters %+v", s.Counters)
			}
		})
	}
}
