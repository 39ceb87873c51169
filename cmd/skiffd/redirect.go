package main

import (
	"flag"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/skiffd/skiff/dataplane/metrics"
	"github.com/skiffd/skiff/dataplane/redirect"
)

// redirectFlags registers the eBPF shortcut's flag under the name,
// --ebpf-redirect, and under skiff's own prefix, --skiff-ebpf-redirect (the
// same setting; daprd has neither).
func redirectFlags(fs *flag.FlagSet, o *options) {
	const usage = "skiff: eBPF loopback shortcut for the API and app connections: auto (attach when the kernel and privileges allow), on (fail startup otherwise), off"
	fs.StringVar(&o.ebpfRedirect, "ebpf-redirect", "auto", usage)
	fs.StringVar(&o.ebpfRedirect, "skiff-ebpf-redirect", "auto", usage)
}

// redirectState is the running shortcut; metadata reads it from the loops.
type redirectState struct {
	p atomic.Pointer[redirect.Redirect]
}

// start attaches the shortcut for the HTTP API port (unless the API is on a
// Unix socket), the gRPC port and the app port. In auto mode a failure is one
// log line and plain TCP; in on mode it stops startup.
func (s *redirectState) start(o *options, appPort int, log *slog.Logger) error {
	mode, err := redirect.ParseMode(o.ebpfRedirect)
	if err != nil {
		return err
	}
	var ports []uint16
	add := func(p string) {
		if n, err := strconv.Atoi(p); err == nil && n > 0 && n < 65536 {
			ports = append(ports, uint16(n))
		}
	}
	if o.unixDomainSocket == "" {
		add(o.daprHTTPPort)
	}
	add(o.daprGRPCPort)
	add(strconv.Itoa(appPort))
	r, err := redirect.Start(redirect.Options{Mode: mode, Ports: ports})
	if err != nil {
		return err
	}
	s.p.Store(r)
	switch st := r.Status(); {
	case st.Active:
		log.Info("eBPF redirect active", "ports", ports, "cgroup", st.Cgroup, "staleReleased", st.StaleReleased)
	case mode == redirect.Auto:
		log.Warn("eBPF redirect inactive, running on plain TCP: " + st.Reason)
	}
	return nil
}

// stop detaches the shortcut (after the server and the app channel closed
// their connections).
func (s *redirectState) stop(log *slog.Logger) {
	if r := s.p.Load(); r != nil {
		if err := r.Close(); err != nil {
			log.Warn(err.Error())
		}
	}
}

// registerMetrics adds skiff's eBPF metrics (after start): whether the
// shortcut is active and, when it is, its per-CPU counters summed at scrape
// time (one map lookup per family and scrape, nothing per request).
func (s *redirectState) registerMetrics(m *metrics.Metrics) {
	if !m.Enabled() {
		return
	}
	r := s.p.Load()
	active := r != nil && r.Status().Active
	m.GaugeFunc("skiff_ebpf_redirect_active", "1 when skiff's eBPF loopback shortcut is attached, else 0.",
		func() float64 {
			if r := s.p.Load(); r != nil && r.Active() {
				return 1
			}
			return 0
		})
	if !active {
		return
	}
	counter := func(name, help string, f func(redirect.Counters) uint64) {
		m.CounterFunc(name, help, func() float64 { return float64(f(r.Status().Counters)) })
	}
	counter("skiff_ebpf_redirected_messages_total", "Messages the eBPF shortcut delivered socket to socket, bypassing TCP.",
		func(c redirect.Counters) uint64 { return c.RedirectedMsgs })
	counter("skiff_ebpf_redirected_bytes_total", "Bytes the eBPF shortcut delivered socket to socket, bypassing TCP.",
		func(c redirect.Counters) uint64 { return c.RedirectedBytes })
	counter("skiff_ebpf_misses_total", "Messages on a shortcut port whose peer socket was not in the map (sent over TCP).",
		func(c redirect.Counters) uint64 { return c.Misses })
}

// extra is metadata's "extended" hook: status and counters.
func (s *redirectState) extra() map[string]string {
	r := s.p.Load()
	if r == nil {
		return map[string]string{"ebpfRedirect": "inactive: not started"}
	}
	return r.Status().Extended()
}
