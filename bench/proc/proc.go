package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ClockTick is the unit of utime and stime in /proc/<pid>/stat. USER_HZ is
// 100 on every Linux architecture Go supports; the kernel scales to it.
const ClockTick = 10 * time.Millisecond

// Stat holds the fields of /proc/<pid>/stat the benchmark uses.
type Stat struct {
	Comm      string
	State     byte
	UTime     time.Duration // user CPU time
	STime     time.Duration // system CPU time
	Threads   int
	Processor int // CPU the task last ran on
}

// CPU is user plus system time.
func (s Stat) CPU() time.Duration { return s.UTime + s.STime }

// ReadStat reads /proc/<pid>/stat.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, fmt.Errorf("read stat: %w", err)
	}
	st, err := ParseStat(b)
	if err != nil {
		return Stat{}, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	return st, nil
}

// ParseStat parses the contents of a /proc/<pid>/stat file. The command name
// is in parentheses and may itself hold spaces and ')', so fields are counted
// from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return Stat{}, errors.New("parse stat: no command name")
	}
	st := Stat{Comm: string(b[open+1 : closing])}
	// Fields after the name start at field 3 (state).
	f := strings.Fields(string(b[closing+1:]))
	const (
		state     = 3
		utime     = 14
		stime     = 15
		threads   = 20
		processor = 39
	)
	field := func(n int) (int64, error) {
		i := n - 3
		if i >= len(f) {
			return 0, fmt.Errorf("parse stat: field %d missing", n)
		}
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse stat: field %d: %w", n, err)
		}
		return v, nil
	}
	if len(f) == 0 || len(f[0]) != 1 {
		return Stat{}, errors.New("parse stat: no state")
	}
	st.State = f[state-3][0]
	u, err := field(utime)
	if err != nil {
		return Stat{}, err
	}
	s, err := field(stime)
	if err != nil {
		return Stat{}, err
	}
	th, err := field(threads)
	if err != nil {
		return Stat{}, err
	}
	st.UTime = time.Duration(u) * ClockTick
	st.STime = time.Duration(s) * ClockTick
	st.Threads = int(th)
	// processor is absent on very old kernels only; keep -1 then.
	st.Processor = -1
	if p, err := field(processor); err == nil {
		st.Processor = int(p)
	}
	return st, nil
}

// Status holds the fields of /proc/<pid>/status the benchmark uses. Memory is
// in bytes.
type Status struct {
	Name         string
	VmRSS        int64 // resident set now
	VmHWM        int64 // peak resident set
	Threads      int
	CPUsAllowed  string // e.g. "0-1"
	VoluntaryCtx int64
	ForcedCtx    int64
}

// ReadStatus reads /proc/<pid>/status.
func ReadStatus(pid int) (Status, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Status{}, fmt.Errorf("read status: %w", err)
	}
	st, err := ParseStatus(b)
	if err != nil {
		return Status{}, fmt.Errorf("read status of %d: %w", pid, err)
	}
	return st, nil
}

// ParseStatus parses the contents of a /proc/<pid>/status file.
func ParseStatus(b []byte) (Status, error) {
	var st Status
	seenRSS := false
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		var err error
		switch k {
		case "Name":
			st.Name = v
		case "VmRSS":
			st.VmRSS, err = parseKB(v)
			seenRSS = true
		case "VmHWM":
			st.VmHWM, err = parseKB(v)
		case "Threads":
			st.Threads, err = strconv.Atoi(v)
		case "Cpus_allowed_list":
			st.CPUsAllowed = v
		case "voluntary_ctxt_switches":
			st.VoluntaryCtx, err = strconv.ParseInt(v, 10, 64)
		case "nonvoluntary_ctxt_switches":
			st.ForcedCtx, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil {
			return Status{}, fmt.Errorf("parse status: %s: %w", k, err)
		}
	}
	if !seenRSS {
		// Zombies and kernel threads have no memory lines.
		return st, errors.New("parse status: no VmRSS (process gone?)")
	}
	return st, nil
}

// parseKB parses "1234 kB" into bytes.
func parseKB(v string) (int64, error) {
	num, unit, _ := strings.Cut(v, " ")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, err
	}
	if unit != "kB" {
		return 0, fmt.Errorf("unit %q", unit)
	}
	return n * 1024, nil
}

// Usage is what a process consumed between two samples.
type Usage struct {
	CPU   time.Duration
	RSS   int64 // at the second sample
	HWM   int64 // peak so far, at the second sample
	Start Stat
	End   Stat
}

// Sampler takes CPU samples of one process.
type Sampler struct {
	PID   int
	start Stat
}

// Begin records the starting CPU time.
func (s *Sampler) Begin() error {
	st, err := ReadStat(s.PID)
	if err != nil {
		return fmt.Errorf("sample begin: %w", err)
	}
	s.start = st
	return nil
}

// End reads CPU time and memory and returns the usage since Begin.
func (s *Sampler) End() (Usage, error) {
	st, err := ReadStat(s.PID)
	if err != nil {
		return Usage{}, fmt.Errorf("sample end: %w", err)
	}
	ss, err := ReadStatus(s.PID)
	if err != nil {
		return Usage{}, fmt.Errorf("sample end: %w", err)
	}
	return Usage{CPU: st.CPU() - s.start.CPU(), RSS: ss.VmRSS, HWM: ss.VmHWM, Start: s.start, End: st}, nil
}

// FindByComm returns the pids of the processes whose command name
// (/proc/PID/comm) is comm, lowest first; none when there is no such
// process or /proc cannot be read.
func FindByComm(comm string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil {
			continue
		}
		if strings.TrimSpace(string(b)) == comm {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids
}
