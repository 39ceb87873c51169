//go:build !(linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64))

package redirect

import (
	"fmt"
	"net/netip"
)

// Redirect is the shortcut; on this platform it is never active.
type Redirect struct {
	mode   Mode
	reason string
	ports  []uint16
}

// Start never attaches here: Auto and Off answer an inactive Redirect, On
// fails.
func Start(opts Options) (*Redirect, error) {
	r := &Redirect{mode: opts.Mode, reason: ErrUnsupported.Error(), ports: opts.Ports}
	switch opts.Mode {
	case Off:
		r.reason = "off (--ebpf-redirect=off)"
	case On:
		return r, fmt.Errorf("ebpf redirect: %w", ErrUnsupported)
	}
	return r, nil
}

// Active is always false here.
func (r *Redirect) Active() bool { return false }

// Status says why the shortcut is not active.
func (r *Redirect) Status() Status {
	return Status{Mode: r.mode.String(), Reason: r.reason, Ports: r.ports}
}

// Close does nothing.
func (r *Redirect) Close() error { return nil }

// Forget fails: nothing is ever in a map here.
func (r *Redirect) Forget(local, remote netip.AddrPort) error { return ErrUnsupported }
