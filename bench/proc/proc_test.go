package proc

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and parentheses, as a process may choose.
	line := "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 7 0 12345 1000000 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	st, err := ParseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.Comm != "my (odd) name" || st.State != 'S' || st.UTime != 2500*time.Millisecond || st.STime != 750*time.Millisecond ||
		st.Threads != 7 || st.Processor != 1 || st.CPU() != 3250*time.Millisecond {
		t.Fatalf("%+v", st)
	}
	if _, err := ParseStat([]byte("4242 (x) S 1 2")); err == nil {
		t.Fatal("short stat accepted")
	}
	if _, err := ParseStat([]byte("garbage")); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestParseStatus(t *testing.T) {
	in := "Name:\tdaprd\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 2000000 kB\nVmHWM:\t  163840 kB\nVmRSS:\t  128000 kB\n" +
		"Threads:\t12\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nvoluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t7\n"
	st, err := ParseStatus([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Name: "daprd", VmRSS: 128000 * 1024, VmHWM: 163840 * 1024, Threads: 12, CPUsAllowed: "0-1", VoluntaryCtx: 150, ForcedCtx: 7}
	if st != want {
		t.Fatalf("got %+v\nwant %+v", st, want)
	}
	if _, err := ParseStatus([]byte("Name:\tkthreadd\nThreads:\t1\n")); err == nil {
		t.Fatal("status without VmRSS accepted")
	}
}

func TestReadSelfAndSampler(t *testing.T) {
	s := Sampler{PID: os.Getpid()}
	if err := s.Begin(); err != nil {
		t.Fatal(err)
	}
	// Burn 200 ms of CPU time (by getrusage, not the wall clock: the
	// machine may be shared), as the kernel's counters move in 10 ms ticks.
	var ru0, ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	cpu := func(r syscall.Rusage) int64 { return r.Utime.Nano() + r.Stime.Nano() }
	for limit := time.Now().Add(10 * time.Second); time.Now().Before(limit); {
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		if cpu(ru)-cpu(ru0) >= int64(200*time.Millisecond) {
			break
		}
	}
	u, err := s.End()
	if err != nil {
		t.Fatal(err)
	}
	if u.CPU < 100*time.Millisecond || u.CPU > 2*time.Second || u.RSS <= 0 || u.HWM < u.RSS {
		t.Fatalf("usage %+v", u)
	}
	if _, err := ReadStat(1 << 30); err == nil {
		t.Fatal("stat of a missing pid")
	}
}

func TestParseCPUList(t *testing.T) {
	got, err := ParseCPUList("0-2,5, 7")
	if err != nil || len(got) != 5 || got[0] != 0 || got[2] != 2 || got[3] != 5 || got[4] != 7 {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"x", "3-1", "-1", "0-99999"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if got, err := ParseCPUList(""); err != nil || got != nil {
		t.Fatalf("empty: %v %v", got, err)
	}
}

func TestPinSelf(t *testing.T) {
	all := AllCPUs()
	if len(all) < 1 {
		t.Fatal("no CPUs")
	}
	prev := runtime.GOMAXPROCS(0)
	defer func() {
		SetAffinity(os.Getpid(), all)
		runtime.GOMAXPROCS(prev)
	}()
	last := all[len(all)-1]
	if _, err := PinSelf([]int{last}); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{last}; st.CPUsAllowed != itoa(want[0]) || runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("allowed %q, GOMAXPROCS %d", st.CPUsAllowed, runtime.GOMAXPROCS(0))
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + itoa(n%10)
}

func TestFindByComm(t *testing.T) {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Skip("no /proc")
	}
	pids := FindByComm(strings.TrimSpace(string(b)))
	if !slices.Contains(pids, os.Getpid()) {
		t.Fatalf("FindByComm(%q) = %v, want this process (%d) among them", strings.TrimSpace(string(b)), pids, os.Getpid())
	}
	if got := FindByComm("no-such-process-name"); len(got) != 0 {
		t.Fatalf("FindByComm of a missing name = %v", got)
	}
}
