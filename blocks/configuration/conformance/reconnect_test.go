package conformance

import (
	"context"
	"github.com/skiffd/skiff/blocks/internal/testsvc"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/configuration"
	configredis "github.com/skiffd/skiff/blocks/configuration/redis"
	lockredis "github.com/skiffd/skiff/blocks/lock/redis"
)

// proxy is a TCP proxy to Redis that the test can take down and bring back
// on the same address: an outage without touching the shared server.
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, r)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(r, c); r.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, r); r.Close(); c.Close() }()
		}
	}()
}

// down closes the listener and every proxied connection.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// up listens again on the same address.
func (p *proxy) up() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listening again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// TestRedisOutage: Redis goes away under live stores and comes back. During
// the outage requests fail (the blocks answer 500); afterwards they recover
// by themselves and the subscription is re-established.
func TestRedisOutage(t *testing.T) {
	target := testsvc.Redis(t)
	px := startProxy(t, target)
	ctx := context.Background()
	md := map[string]string{"redisHost": px.addr, "dialTimeout": "500ms", "maxRetries": "0"}
	cs, err := configredis.New("outage", md, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ls, err := lockredis.New("outage", md, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	c := plainClient(t)
	defer c.Close()
	p := uniquePrefix()
	defer c.Do(ctx, c.B().Del().Key(p+"k", p+"lock", p+"lock2").Build())

	rec := &recorder{}
	if _, err := cs.Subscribe(ctx, []string{p + "k"}, nil, rec.handle); err != nil {
		t.Fatal(err)
	}
	if ok, err := ls.TryLock(ctx, p+"lock", "o", time.Minute); err != nil || !ok {
		t.Fatalf("lock before the outage: %v %v", ok, err)
	}
	_ = c.Do(ctx, c.B().Set().Key(p+"k").Value("1").Build()).Error()
	rec.wait(t, p, 1)

	px.down()
	if _, err := ls.TryLock(ctx, p+"lock2", "o", time.Minute); err == nil {
		t.Error("TryLock succeeded during the outage")
	}
	if _, err := cs.Get(ctx, []string{p + "k"}, nil); err == nil {
		t.Error("Get succeeded during the outage")
	}
	px.up()

	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := ls.TryLock(ctx, p+"lock2", "o", time.Minute)
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TryLock never recovered: %v %v", ok, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The subscription comes back on its own; keep writing until an
	// update arrives (the re-subscription may land after a write).
	for i := 0; ; i++ {
		_ = c.Do(ctx, c.B().Set().Key(p+"k").Value("after").Build()).Error()
		rec.mu.Lock()
		n := len(rec.got)
		var last configuration.Update
		if n > 0 {
			last = rec.got[n-1]
		}
		rec.mu.Unlock()
		if n >= 2 && last.Items[p+"k"] != nil && last.Items[p+"k"].Value == "after" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no update after the outage (%d updates)", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
