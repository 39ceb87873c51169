//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package redirect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/skiffd/skiff/bpf"
)

// Redirect is an attached (or declined) shortcut.
type Redirect struct {
	mode   Mode
	reason string
	cgroup string
	ports  []uint16
	drain  time.Duration
	stale  int // port maps of killed skiffds released at start

	mu      sync.Mutex // guards the fields below against Close
	objs    *bpf.SkiffObjects
	sockops link.Link
	msg     link.Link
}

// Start attaches the shortcut per opts.Mode. With Auto, a failure is not an
// error: the returned Redirect is inactive and Status says why. With On, it
// is returned as the error. Off loads nothing.
func Start(opts Options) (*Redirect, error) {
	r := &Redirect{mode: opts.Mode, ports: append([]uint16(nil), opts.Ports...), drain: opts.Drain}
	if r.drain == 0 {
		r.drain = 100 * time.Millisecond
	}
	if opts.Mode == Off {
		r.reason = "off (--ebpf-redirect=off)"
		return r, nil
	}
	if err := r.attach(opts); err != nil {
		r.reason = err.Error()
		if opts.Mode == On {
			return r, fmt.Errorf("ebpf redirect: %w", err)
		}
	}
	return r, nil
}

func (r *Redirect) attach(opts Options) (err error) {
	cg := opts.CgroupPath
	if cg == "" {
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return fmt.Errorf("finding the cgroup v2 root: %w", err)
		}
		cg, err = cgroup2Root(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("finding the cgroup v2 root: %w", err)
		}
	}
	r.cgroup = cg
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; newer ones
	// ignore it. Best effort: without privileges loading fails anyway.
	_ = rlimit.RemoveMemlock()

	objs := &bpf.SkiffObjects{}
	if err := bpf.LoadSkiffObjects(objs, nil); err != nil {
		if errors.Is(err, unix.EPERM) {
			// cilium/ebpf's own text suggests RLIMIT_MEMLOCK, which
			// is not the cause on kernels that account BPF memory to
			// cgroups (5.11+): say what is missing instead.
			return fmt.Errorf("not permitted to load eBPF programs (needs root, or CAP_BPF and CAP_NET_ADMIN): %w", unix.EPERM)
		}
		return fmt.Errorf("loading the eBPF programs: %w", err)
	}
	defer func() {
		if err != nil {
			objs.Close()
		}
	}()
	r.stale = releaseStale()
	// Key 0 (never a connection's port) names the owner: a later skiffd
	// finds the maps of one that was killed (see releaseStale).
	if err := objs.SkiffPorts.Put(uint32(0), uint32(os.Getpid())); err != nil {
		return fmt.Errorf("filling the port map: %w", err)
	}
	one := uint32(1)
	for _, p := range r.ports {
		if p == 0 {
			continue
		}
		if err := objs.SkiffPorts.Put(uint32(p), one); err != nil {
			return fmt.Errorf("filling the port map: %w", err)
		}
	}

	cgf, err := os.Open(cg)
	if err != nil {
		return fmt.Errorf("opening cgroup %s: %w", cg, err)
	}
	defer cgf.Close()
	removeStale(cgf)
	// A bpf_link, not link.AttachCgroup: that one falls back to
	// BPF_PROG_ATTACH, which would outlive a killed skiffd.
	sockops, err := link.AttachRawLink(link.RawLinkOptions{
		Target: int(cgf.Fd()), Program: objs.SkiffSockops, Attach: ebpf.AttachCGroupSockOps,
	})
	if err != nil {
		return fmt.Errorf("attaching sockops to cgroup %s: %w%s", cg, err, privHint(err))
	}
	msg, err := link.AttachRawLink(link.RawLinkOptions{
		Target: objs.SkiffSocks.FD(), Program: objs.SkiffMsg, Attach: ebpf.AttachSkMsgVerdict,
	})
	if err != nil {
		// Kernels before 6.10 have no sk_msg links: attach to the map,
		// which dies with the process too (nothing else references it).
		if err2 := link.RawAttachProgram(link.RawAttachProgramOptions{
			Target: objs.SkiffSocks.FD(), Program: objs.SkiffMsg, Attach: ebpf.AttachSkMsgVerdict,
		}); err2 != nil {
			sockops.Close()
			return fmt.Errorf("attaching sk_msg to the socket map: %w", err2)
		}
		msg = nil
	}
	r.mu.Lock()
	r.objs, r.sockops, r.msg = objs, sockops, msg
	r.mu.Unlock()
	return nil
}

// privHint names the capabilities when the kernel said no.
func privHint(err error) string {
	// EPERM is the missing capability; the verifier's rejections come
	// as EACCES and are not about privileges.
	if errors.Is(err, unix.EPERM) {
		return " (needs root, or CAP_BPF and CAP_NET_ADMIN)"
	}
	return ""
}

// removeStale detaches skiff sockops programs attached the legacy way
// (BPF_PROG_ATTACH, no link) to the cgroup: those would outlive their
// process. skiffd itself only attaches links, which the kernel drops with
// the process, and a live skiffd's links are not touched (the kernel only
// detaches link-less attachments this way).
func removeStale(cg *os.File) {
	res, err := link.QueryPrograms(link.QueryOptions{Target: int(cg.Fd()), Attach: ebpf.AttachCGroupSockOps})
	if err != nil {
		return
	}
	for _, ap := range res.Programs {
		if _, isLink := ap.LinkID(); isLink {
			continue
		}
		p, err := ebpf.NewProgramFromID(ap.ID)
		if err != nil {
			continue
		}
		if info, err := p.Info(); err == nil && info.Name == bpf.SkiffProgSkiffSockops {
			_ = link.RawDetachProgram(link.RawDetachProgramOptions{
				Target: int(cg.Fd()), Program: p, Attach: ebpf.AttachCGroupSockOps,
			})
		}
		p.Close()
	}
}

// releaseStale finds the port maps of skiffds that died without Close
// (SIGKILL) and empties them, so that their sk_msg programs stop
// redirecting. Such a run's sockops link went with its fds, but its socket
// map, sk_msg program and port map live on while sockets it put in the map
// are open (each socket holds the program, which holds the maps): those
// connections, between processes that are still alive, would go on being
// shortcut by an orphan. Emptying the port map makes them fall back to TCP
// without dropping data already queued (taking the sockets out of the map
// would drop it); the orphan goes away with the last of those sockets.
// It returns how many maps it released.
func releaseStale() int {
	n := 0
	for id := ebpf.MapID(0); ; {
		next, err := ebpf.MapGetNextID(id)
		if err != nil {
			return n
		}
		id = next
		m, err := ebpf.NewMapFromID(id)
		if err != nil {
			continue
		}
		info, err := m.Info()
		var owner uint32
		if err == nil && info.Name == bpf.SkiffMapSkiffPorts && info.Type == ebpf.Hash &&
			m.Lookup(uint32(0), &owner) == nil && owner != 0 && !alive(int(owner)) {
			var k, v uint32
			var keys []uint32
			for it := m.Iterate(); it.Next(&k, &v); {
				keys = append(keys, k)
			}
			for _, k := range keys {
				_ = m.Delete(k)
			}
			n++
		}
		m.Close()
	}
}

// alive reports whether a process with that id exists (a reused id keeps
// an orphan alive, which is harmless).
func alive(pid int) bool {
	return unix.Kill(pid, 0) != unix.ESRCH
}

// Active reports whether the shortcut is attached.
func (r *Redirect) Active() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.objs != nil
}

// Status reports the mode, why it is inactive, and the counters.
func (r *Redirect) Status() Status {
	s := Status{Mode: r.mode.String(), Reason: r.reason, Cgroup: r.cgroup, Ports: r.ports, StaleReleased: r.stale}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs == nil {
		if s.Reason == "" {
			s.Reason = "detached"
		}
		return s
	}
	s.Active = true
	var per []bpf.SkiffCounters
	if err := r.objs.SkiffStats.Lookup(uint32(0), &per); err == nil {
		for _, c := range per {
			s.RedirectedMsgs += c.RedirectedMsgs
			s.RedirectedBytes += c.RedirectedBytes
			s.Misses += c.Misses
			s.Sockets += c.Sockets
		}
	}
	return s
}

// Close stops the shortcut: no new socket enters the map, every socket in
// it goes back to plain TCP (deleting an entry restores the socket's
// protocol; closing the links alone would not), and the programs and maps
// are released. Safe to call more than once.
func (r *Redirect) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs == nil {
		return nil
	}
	var errs []error
	if r.sockops != nil {
		errs = append(errs, r.sockops.Close())
	}
	// Stop redirecting first, keeping every socket in the map: a socket
	// taken out of the map loses the redirected data still queued for it,
	// so each receiver is given time to read what was handed to it; what
	// the senders write meanwhile goes over TCP and is read after it.
	for _, p := range r.ports {
		_ = r.objs.SkiffPorts.Delete(uint32(p))
	}
	_ = r.objs.SkiffPorts.Delete(uint32(0))
	time.Sleep(r.drain)
	var key bpf.SkiffSockKey
	var keys []bpf.SkiffSockKey
	it := r.objs.SkiffSocks.Iterate()
	var cookie uint64
	for it.Next(&key, &cookie) {
		keys = append(keys, key)
	}
	for i := range keys {
		if err := r.objs.SkiffSocks.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
	}
	if r.msg != nil {
		errs = append(errs, r.msg.Close())
	}
	errs = append(errs, r.objs.Close())
	r.objs, r.sockops, r.msg = nil, nil, nil
	if r.reason == "" {
		r.reason = "detached"
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ebpf redirect: detach: %w", err)
	}
	return nil
}

// Forget takes one end of a connection out of the map (the end whose local
// address is local): that socket goes back to plain TCP and its peer's
// messages to it miss and fall back to TCP as well. Kernel tests use it to
// make a peer that is not in the map.
func (r *Redirect) Forget(local, remote netip.AddrPort) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs == nil {
		return errors.New("ebpf redirect: not active")
	}
	k := sockKey(local, remote)
	if err := r.objs.SkiffSocks.Delete(&k); err != nil {
		return fmt.Errorf("ebpf redirect: forget %s-%s: %w", local, remote, err)
	}
	return nil
}

// sockKey builds the map key as the BPF side does: addresses as 16 bytes in
// network order, IPv4 as IPv4-mapped IPv6, ports in host order.
func sockKey(local, remote netip.AddrPort) bpf.SkiffSockKey {
	var k bpf.SkiffSockKey
	put := func(dst *[4]uint32, a netip.Addr) {
		b := a.As16()
		for i := range dst {
			// The words hold network-order bytes; read them in host
			// (little-endian) order so they land in memory unchanged.
			dst[i] = binary.LittleEndian.Uint32(b[4*i:])
		}
	}
	put(&k.Local, local.Addr())
	put(&k.Remote, remote.Addr())
	k.LocalPort = uint32(local.Port())
	k.RemotePort = uint32(remote.Port())
	return k
}
