package proc

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ParseCPUList parses a kernel-style CPU list such as "0-2,5".
func ParseCPUList(s string) ([]int, error) {
	var cpus []int
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			return nil, fmt.Errorf("parse cpu list %q: %w", s, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				return nil, fmt.Errorf("parse cpu list %q: %w", s, err)
			}
		}
		if a < 0 || b < a || b >= 1024 {
			return nil, fmt.Errorf("parse cpu list %q: bad range %d-%d", s, a, b)
		}
		for c := a; c <= b; c++ {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// SetAffinity restricts every thread of process pid to cpus. Threads created
// later inherit the mask of their creator, so once every existing thread is
// set the whole process stays there.
func SetAffinity(pid int, cpus []int) error {
	var set unix.CPUSet
	set.Zero()
	for _, c := range cpus {
		set.Set(c)
	}
	// Twice: a thread can be born between the listing and the calls.
	for pass := 0; pass < 2; pass++ {
		tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			return fmt.Errorf("set affinity: %w", err)
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			if err := unix.SchedSetaffinity(tid, &set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("set affinity of task %d: %w", tid, err)
			}
		}
	}
	return nil
}

// PinSelf confines this process to cpus and sets GOMAXPROCS to their number,
// like running it under taskset. It returns the previous GOMAXPROCS.
func PinSelf(cpus []int) (int, error) {
	if len(cpus) == 0 {
		return runtime.GOMAXPROCS(0), nil
	}
	if err := SetAffinity(os.Getpid(), cpus); err != nil {
		return 0, fmt.Errorf("pin self: %w", err)
	}
	return runtime.GOMAXPROCS(len(cpus)), nil
}

// AllCPUs lists the CPUs online on this machine.
func AllCPUs() []int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err == nil {
		if cpus, err := ParseCPUList(string(b)); err == nil && len(cpus) > 0 {
			return cpus
		}
	}
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus
}

// Placement describes where a process may run, for the report.
func Placement(pid int) string {
	st, err := ReadStatus(pid)
	if err != nil {
		return "unknown"
	}
	return "cpus " + st.CPUsAllowed
}
