// Package mdns is daprd's default standalone name resolver
// (nameresolution.mdns): each sidecar announces its app id over multicast
// DNS and finds the others by browsing. The announcement is served by
// github.com/hashicorp/mdns; the browse is our own client on miekg/dns
// (query.go).
//
// As daprd registers (components-contrib nameresolution/mdns): service
// name = the app id, domain "local.", instance "<hostname>:<pid>", host
// "<hostname>.local.", the announced address (DAPR_HOST_IP or the host's
// address), the internal gRPC port, and one TXT string, the app id. A
// browse waits up to one second for the first answer whose TXT is the app
// id and fails with daprd's "couldn't find service: <id>"; found addresses
// are cached for 60 s (daprd's addressTTL) and used round robin.
//
// Multicast on loopback: the kernel delivers our own multicast back to us
// (IP_MULTICAST_LOOP), so sidecars on one host find each other as long as
// some interface, lo included, is multicast-capable with a route for
// 224.0.0.0/4.
package mdns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	hmdns "github.com/hashicorp/mdns"
)

const (
	domain      = "local."
	browseWait  = time.Second      // daprd's browseOneTimeout
	addressTTL  = 60 * time.Second // daprd's addressTTL
	maxCacheIDs = 1024
)

// quiet drops the library's own log lines (it logs expected failures,
// e.g. IPv6 multicast missing, at error level).
var quiet = log.New(io.Discard, "", 0)

// Resolver is an mDNS resolver, and our announcement when registered.
type Resolver struct {
	srv *hmdns.Server

	mu       sync.Mutex
	cache    map[string]*addrList
	inflight map[string]chan struct{}
}

type addrList struct {
	addrs []cached
	next  int
}

type cached struct {
	addr    string
	expires time.Time
}

// New returns a resolver that announces nothing (a sidecar without an
// internal port; tests).
func New() *Resolver {
	return &Resolver{cache: map[string]*addrList{}, inflight: map[string]chan struct{}{}}
}

// Register announces appID at ip:port and returns the resolver.
func Register(appID, ip string, port int) (*Resolver, error) {
	r := New()
	if err := r.Announce(appID, ip, port); err != nil {
		return nil, err
	}
	return r, nil
}

// Announce answers mDNS queries for appID with ip:port from now on (one
// announcement per resolver).
func (r *Resolver) Announce(appID, ip string, port int) error {
	if appID == "" {
		return errors.New("mdns: name is missing")
	}
	addr := net.ParseIP(ip)
	if addr == nil {
		return fmt.Errorf("mdns: address %q is not an IP address", ip)
	}
	if port <= 0 {
		return errors.New("mdns: port is missing or invalid")
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	host = strings.TrimSuffix(host, ".")
	instance := host + ":" + strconv.Itoa(os.Getpid())
	svc, err := hmdns.NewMDNSService(instance, appID, domain, host+"."+domain, port, []net.IP{addr}, []string{appID})
	if err != nil {
		return fmt.Errorf("mdns: register %s: %w", appID, err)
	}
	srv, err := hmdns.NewServer(&hmdns.Config{Zone: svc, Logger: quiet})
	if err != nil {
		return fmt.Errorf("mdns: register %s: %w", appID, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		_ = srv.Shutdown()
		return errors.New("mdns: already announcing")
	}
	r.srv = srv
	return nil
}

// Close withdraws the announcement.
func (r *Resolver) Close() error {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		return srv.Shutdown()
	}
	return nil
}

// ResolveID returns host:port of appID's sidecar. The namespace is
// ignored, as by daprd's mDNS resolver.
func (r *Resolver) ResolveID(ctx context.Context, appID, _ string) (string, error) {
	for {
		if a := r.cachedAddr(appID); a != "" {
			return a, nil
		}
		r.mu.Lock()
		wait, busy := r.inflight[appID]
		if !busy {
			wait = make(chan struct{})
			r.inflight[appID] = wait
		}
		r.mu.Unlock()
		if busy {
			// Another caller is browsing for the same id: share its result.
			select {
			case <-wait:
				if a := r.cachedAddr(appID); a != "" {
					return a, nil
				}
				return "", notFound(appID)
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		found := r.browse(ctx, appID)
		r.mu.Lock()
		delete(r.inflight, appID)
		r.mu.Unlock()
		close(wait)
		if !found {
			if err := ctx.Err(); err != nil {
				return "", err
			}
			return "", notFound(appID)
		}
	}
}

func notFound(appID string) error { return errors.New("couldn't find service: " + appID) }

// browse queries the network for appID until the first matching answer or
// browseWait, caching what it finds.
func (r *Resolver) browse(ctx context.Context, appID string) bool {
	ctx, cancel := context.WithTimeout(ctx, browseWait)
	defer cancel()
	ok := false
	_ = query(ctx, appID, func(addr string) {
		r.add(appID, addr)
		ok = true
		cancel()
	})
	return ok
}

func (r *Resolver) add(appID, addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.cache[appID]
	if l == nil {
		if len(r.cache) >= maxCacheIDs {
			return
		}
		l = &addrList{}
		r.cache[appID] = l
	}
	exp := time.Now().Add(addressTTL)
	for i := range l.addrs {
		if l.addrs[i].addr == addr {
			l.addrs[i].expires = exp
			return
		}
	}
	l.addrs = append(l.addrs, cached{addr, exp})
}

// cachedAddr returns the next live cached address of appID, round robin.
func (r *Resolver) cachedAddr(appID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.cache[appID]
	if l == nil {
		return ""
	}
	now := time.Now()
	l.addrs = slices.DeleteFunc(l.addrs, func(c cached) bool { return now.After(c.expires) })
	if len(l.addrs) == 0 {
		delete(r.cache, appID)
		return ""
	}
	l.next = (l.next + 1) % len(l.addrs)
	return l.addrs[l.next].addr
}

// Forget drops addr from appID's cache.
func (r *Resolver) Forget(appID, addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.cache[appID]; l != nil {
		l.addrs = slices.DeleteFunc(l.addrs, func(c cached) bool { return c.addr == addr })
		if len(l.addrs) == 0 {
			delete(r.cache, appID)
		}
	}
}
