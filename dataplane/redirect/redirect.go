package redirect

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Mode is the --ebpf-redirect setting.
type Mode int

const (
	// Auto attaches when the kernel and the privileges allow it and runs on
	// plain TCP otherwise.
	Auto Mode = iota
	// On fails startup when the shortcut cannot be attached.
	On
	// Off never loads anything.
	Off
)

func (m Mode) String() string {
	switch m {
	case On:
		return "on"
	case Off:
		return "off"
	}
	return "auto"
}

// ParseMode reads auto, on or off (also true/false, 1/0).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "on", "true", "1", "yes":
		return On, nil
	case "off", "false", "0", "no":
		return Off, nil
	}
	return Auto, fmt.Errorf("ebpf redirect mode %q: want auto, on or off", s)
}

// Options say what to attach.
type Options struct {
	Mode Mode
	// Ports skiffd owns (HTTP API, gRPC API, the app's port): a loopback
	// connection with one of them at either end is shortcut.
	Ports []uint16
	// CgroupPath overrides the cgroup v2 directory to attach to (default:
	// the root of the cgroup v2 hierarchy, from /proc/self/mountinfo).
	CgroupPath string
	// Drain is how long Close waits between stopping redirection and
	// taking the sockets out of the map (default 100ms): a receiver that
	// has not read its redirected data by then loses it.
	Drain time.Duration
}

// Counters are summed over all CPUs.
type Counters struct {
	RedirectedMsgs  uint64 `json:"redirectedMsgs"`
	RedirectedBytes uint64 `json:"redirectedBytes"`
	Misses          uint64 `json:"misses"`
	Sockets         uint64 `json:"sockets"`
}

// Status is what the shortcut is doing.
type Status struct {
	Mode   string   `json:"mode"`
	Active bool     `json:"active"`
	Reason string   `json:"reason,omitempty"` // why it is not active
	Cgroup string   `json:"cgroup,omitempty"`
	Ports  []uint16 `json:"ports,omitempty"`
	// StaleReleased counts port maps of killed skiffds emptied at start.
	StaleReleased int `json:"staleReleased,omitempty"`
	Counters
}

// ErrUnsupported is wrapped by Start's error on platforms without the
// shortcut.
var ErrUnsupported = errors.New("eBPF socket redirection needs Linux on a little-endian CPU")

// Extended renders the status as metadata "extended" attributes.
func (s Status) Extended() map[string]string {
	m := map[string]string{"ebpfRedirect": s.Summary()}
	if s.Active {
		m["ebpfRedirectMsgs"] = strconv.FormatUint(s.RedirectedMsgs, 10)
		m["ebpfRedirectBytes"] = strconv.FormatUint(s.RedirectedBytes, 10)
		m["ebpfRedirectMisses"] = strconv.FormatUint(s.Misses, 10)
		m["ebpfRedirectSockets"] = strconv.FormatUint(s.Sockets, 10)
		m["ebpfRedirectStaleReleased"] = strconv.Itoa(s.StaleReleased)
	}
	return m
}

// Summary is one line: "active" or "inactive: why".
func (s Status) Summary() string {
	if s.Active {
		return "active"
	}
	if s.Reason == "" {
		return "inactive"
	}
	return "inactive: " + s.Reason
}

// cgroup2Root finds the first cgroup2 mount in a mountinfo listing
// (proc(5)): the mount point is field 5, the filesystem type follows " - ".
func cgroup2Root(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		if f := strings.Fields(post); len(f) == 0 || f[0] != "cgroup2" {
			continue
		}
		f := strings.Fields(pre)
		if len(f) < 5 {
			continue
		}
		// The root of the hierarchy only: field 4 is the mount's root
		// within the filesystem; a bind mount of a subtree is not it.
		if f[3] != "/" {
			continue
		}
		return unescapeMount(f[4]), nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading mountinfo: %w", err)
	}
	return "", errors.New("no cgroup v2 hierarchy is mounted")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
