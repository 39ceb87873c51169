package mdns

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffd/skiff/dataplane/nameresolution"
)

var _ nameresolution.Resolver = (*Resolver)(nil)

// ensureMulticast makes sure some interface can carry multicast, as mDNS
// needs: if none is up with MULTICAST, it turns it on for lo with a route
// for 224.0.0.0/4 (root needed) and undoes both when the test ends. With
// CI=true a machine where that cannot be done fails the test.
func ensureMulticast(t *testing.T) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagMulticast != 0 {
			return
		}
	}
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if os.Geteuid() != 0 {
		fail("no multicast-capable interface, and not root to enable multicast on lo")
		return
	}
	run := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("link", "set", "lo", "multicast", "on"); err != nil {
		fail("%v", err)
		return
	}
	t.Cleanup(func() { _ = run("link", "set", "lo", "multicast", "off") })
	if err := run("route", "add", "224.0.0.0/4", "dev", "lo"); err == nil {
		t.Cleanup(func() { _ = run("route", "del", "224.0.0.0/4", "dev", "lo") })
	}
}

func TestRegisterResolve(t *testing.T) {
	ensureMulticast(t)
	id := "skiff-mdns-test-" + strconv.Itoa(os.Getpid())
	r, err := Register(id, "127.0.0.1", 40123)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := New()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addr, err := c.ResolveID(ctx, id, "default")
	if err != nil || addr != "127.0.0.1:40123" {
		t.Fatalf("resolve: %q %v", addr, err)
	}
	// Cached now: no browse.
	start := time.Now()
	if addr, err := c.ResolveID(ctx, id, ""); err != nil || addr != "127.0.0.1:40123" || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("cached: %q %v", addr, err)
	}
	c.Forget(id, addr)
	if c.cachedAddr(id) != "" {
		t.Fatal("forgotten address still cached")
	}
	// Concurrent browses for one id share one result.
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			a, err := c.ResolveID(ctx, id, "")
			if err == nil && a != "127.0.0.1:40123" {
				err = fmt.Errorf("got %s", a)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Withdrawn: no longer found once the cache is dropped.
	_ = r.Close()
	c.Forget(id, addr)
	if _, err := c.ResolveID(ctx, id, ""); err == nil || err.Error() != "couldn't find service: "+id {
		t.Fatalf("after close: %v", err)
	}
}

func TestUnknown(t *testing.T) {
	ensureMulticast(t)
	c := New()
	start := time.Now()
	_, err := c.ResolveID(context.Background(), "skiff-nobody-"+strconv.Itoa(os.Getpid()), "")
	if err == nil || !strings.HasPrefix(err.Error(), "couldn't find service: skiff-nobody-") {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Fatalf("browse took %v, want about a second", d)
	}
	if _, err := Register("", "127.0.0.1", 1); err == nil {
		t.Fatal("empty id accepted")
	}
	if _, err := Register("x", "nope", 1); err == nil {
		t.Fatal("bad ip accepted")
	}
	if _, err := Register("x", "127.0.0.1", 0); err == nil {
		t.Fatal("port 0 accepted")
	}
}
