package suite

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/skiffd/skiff/bench/loadgen"
	"github.com/skiffd/skiff/bench/proc"
)

// Report is everything one suite run found.
type Report struct {
	Started   time.Time     `json:"started"`
	Machine   Machine       `json:"machine"`
	Method    string        `json:"method"`
	Placement []Placement   `json:"placement"`
	Sidecars  []SidecarInfo `json:"sidecars"`
	Summaries []Summary     `json:"summaries"`
	Derived   []Derived     `json:"derived,omitempty"`
	// Compared: the baseline's variants (skiffd+ebpf, skiffd+uds) against
	// it, per scenario and conns.
	Compared []Comparison `json:"compared,omitempty"`
	// Redirect: each skiffd's eBPF shortcut status and counters at the end
	// (metadata "extended" ebpfRedirect*).
	Redirect map[string]string `json:"ebpf_redirect,omitempty"`
	Runs     []RunRecord       `json:"runs"`
	Warnings []string          `json:"warnings,omitempty"`
}

// Machine describes where the suite ran.
type Machine struct {
	CPUs    int     `json:"cpus"`
	LoadAvg float64 `json:"load_avg_1m"` // at start; high means a shared, noisy machine
	Kernel  string  `json:"kernel"`
	GoOS    string  `json:"goos"`
}

// Placement says where a process was allowed to run.
type Placement struct {
	Role string `json:"role"`
	PID  int    `json:"pid"`
	CPUs string `json:"cpus"`
}

// SidecarInfo holds a sidecar's static and idle figures.
type SidecarInfo struct {
	Name        string    `json:"name"`
	Binary      string    `json:"binary"`
	BinaryBytes int64     `json:"binary_bytes"`
	StartupMS   []float64 `json:"startup_ms"`
	StartupMed  float64   `json:"startup_median_ms"`
	IdleRSS     int64     `json:"idle_rss_bytes"`
	PeakRSS     int64     `json:"peak_rss_bytes"`
	Checks      []Check   `json:"checks"`
}

// Check is one scenario tried once before the load, to catch a sidecar that
// answers with errors (it is then measured anyway, and flagged).
type Check struct {
	Scenario string `json:"scenario"`
	Status   int    `json:"status"`
	Body     string `json:"body,omitempty"`
	Error    string `json:"error,omitempty"`
}

// RunRecord is one measurement within a round.
type RunRecord struct {
	Round    int             `json:"round"`
	Target   string          `json:"target"`
	Scenario string          `json:"scenario"`
	Conns    int             `json:"conns"`
	Result   *loadgen.Result `json:"result"`
	Delivery *Delivery       `json:"delivery,omitempty"`
}

// Run executes the suite.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.Defaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("suite: %w", err)
	}
	scens, err := cfg.scenarios()
	if err != nil {
		return nil, fmt.Errorf("suite: %w", err)
	}
	logs := filepath.Join(cfg.OutDir, "logs")
	resources := filepath.Join(cfg.OutDir, "resources")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, fmt.Errorf("suite: %w", err)
	}
	if err := writeResources(resources, scens); err != nil {
		return nil, fmt.Errorf("suite: %w", err)
	}
	rep := &Report{Started: time.Now(), Machine: machine()}
	if busy := rep.Machine.LoadAvg; busy > 0.5*float64(rep.Machine.CPUs) {
		w := fmt.Sprintf("load average %.1f on %d CPUs at start: other work is running and the figures will be noisy", busy, rep.Machine.CPUs)
		rep.Warnings = append(rep.Warnings, w)
		fmt.Fprintf(cfg.Log, "!!! %s\n", w)
	}
	rep.Method = fmt.Sprintf("closed loop, %v measured after %v warm-up, %d rounds interleaved (targets and scenarios alternate), medians; one request in flight per connection",
		cfg.Duration, cfg.Warmup, cfg.Repeat)
	logf := func(format string, a ...any) { fmt.Fprintf(cfg.Log, format+"\n", a...) }

	ports := appPorts(cfg)
	for _, s := range cfg.Sidecars {
		ports = append(ports, s.HTTPPort)
	}
	for _, p := range ports {
		if !portFree(p) {
			return nil, fmt.Errorf("suite: port %d is already in use; stop whatever listens there", p)
		}
	}

	// The apps first: every sidecar needs one (most share cfg.AppPort).
	var apps []*child
	for _, port := range appPorts(cfg) {
		name := "app"
		if port != cfg.AppPort {
			name = "app-" + strconv.Itoa(port)
		}
		a, err := start(name, []string{cfg.AppBinary, "--port", strconv.Itoa(port), "--subscribe"}, filepath.Join(logs, name+".log"), cfg.AppCPUs)
		if err != nil {
			return nil, fmt.Errorf("suite: %w", err)
		}
		defer a.stop()
		if _, err := a.waitStatus(ctx, tcp(port), "/dapr/config", 200, 10*time.Second); err != nil {
			return nil, fmt.Errorf("suite: %w", err)
		}
		logf("%s: pid %d on :%d", name, a.pid(), port)
		apps = append(apps, a)
	}

	// Static figures and startup time, while the generator is still unpinned
	// and nothing else is loaded.
	infos := make([]SidecarInfo, len(cfg.Sidecars))
	for i, s := range cfg.Sidecars {
		infos[i] = SidecarInfo{Name: s.Name, Binary: s.Binary}
		if st, err := os.Stat(s.Binary); err == nil {
			infos[i].BinaryBytes = st.Size()
		}
	}
	for n := 0; n < cfg.Starts; n++ {
		for i, s := range cfg.Sidecars {
			d, err := startOnce(ctx, s, cfg, resources, logs)
			if err != nil {
				return nil, fmt.Errorf("suite: startup of %s: %w", s.Name, err)
			}
			infos[i].StartupMS = append(infos[i].StartupMS, float64(d)/1e6)
		}
	}
	for i := range infos {
		infos[i].StartupMed = median(infos[i].StartupMS)
		logf("%s: binary %d bytes, startup (exec → healthz 204) median %.1f ms of %v", infos[i].Name, infos[i].BinaryBytes, infos[i].StartupMed, infos[i].StartupMS)
	}

	// Start the sidecars for the load.
	sides := make([]*child, len(cfg.Sidecars))
	for i, s := range cfg.Sidecars {
		c, err := start(s.Name, sidecarArgv(s, s.appPort(cfg), resources), filepath.Join(logs, s.Name+".log"), cfg.SidecarCPUs)
		if err != nil {
			return nil, fmt.Errorf("suite: %w", err)
		}
		defer c.stop()
		if _, err := c.waitStatus(ctx, s.target(), "/v1.0/healthz", 204, 30*time.Second); err != nil {
			return nil, fmt.Errorf("suite: %w", err)
		}
		if err := c.place(cfg.SidecarCPUs); err != nil {
			return nil, fmt.Errorf("suite: %w", err)
		}
		sides[i] = c
	}
	for _, a := range apps {
		a.place(cfg.AppCPUs)
	}
	// Idle memory after a short settle, before any request.
	time.Sleep(time.Second)
	for i, c := range sides {
		if st, err := proc.ReadStatus(c.pid()); err == nil {
			infos[i].IdleRSS = st.VmRSS
		}
	}
	for i, s := range cfg.Sidecars {
		infos[i].Checks = check(ctx, s, scens)
		for _, ch := range infos[i].Checks {
			if ch.Error != "" || ch.Status < 200 || ch.Status > 299 {
				w := fmt.Sprintf("%s: %s answered %d %s %s", s.Name, ch.Scenario, ch.Status, ch.Body, ch.Error)
				rep.Warnings = append(rep.Warnings, w)
				logf("!!! %s", w)
			}
		}
	}

	// Pin the generator last, so no child inherits its mask.
	if len(cfg.GenCPUs) > 0 {
		if _, err := proc.PinSelf(cfg.GenCPUs); err != nil {
			return nil, fmt.Errorf("suite: %w", err)
		}
	}
	rep.Placement = append(rep.Placement, Placement{"load generator", os.Getpid(), cpusOf(os.Getpid())})
	for _, a := range apps {
		rep.Placement = append(rep.Placement, Placement{a.name, a.pid(), cpusOf(a.pid())})
	}
	for i, c := range sides {
		rep.Placement = append(rep.Placement, Placement{cfg.Sidecars[i].Name, c.pid(), cpusOf(c.pid())})
	}
	for _, p := range rep.Placement {
		logf("placement: %-14s pid %-7d cpus %s", p.Role, p.PID, p.CPUs)
	}

	// Broker scenarios share their stream and consumer group between the
	// sidecars (every sidecar has the same app id): a sidecar whose app is
	// not the shared one would lose part of its deliveries to the others'
	// subscriptions, so it is left out of them. Alone, it shares nothing.
	brokerSkip := func(sc Scenario, s Sidecar) bool {
		return sc.Deliveries && sc.Backend && len(cfg.Sidecars) > 1 && s.appPort(cfg) != cfg.AppPort
	}
	for _, sc := range scens {
		for _, s := range cfg.Sidecars {
			if brokerSkip(sc, s) {
				w := fmt.Sprintf("%s: %s left out: it would share the broker's consumer group with the other sidecars while delivering to an app of its own (measure it alone with --skiffd-variants)", s.Name, sc.Name)
				rep.Warnings = append(rep.Warnings, w)
				logf("!!! %s", w)
			}
		}
	}

	// Rounds: every round walks scenarios × conns × targets; the target
	// order rotates each round so no sidecar always goes first.
	for round := 1; round <= cfg.Repeat; round++ {
		for _, sc := range scens {
			for _, conns := range cfg.Conns {
				for k := range cfg.Sidecars {
					i := (k + round - 1) % len(cfg.Sidecars)
					s := cfg.Sidecars[i]
					if brokerSkip(sc, s) {
						continue
					}
					tg, pid, target := s.target(), sides[i].pid(), s.Name
					if sc.Direct {
						if k > 0 {
							break // the app alone: once per round
						}
						tg, pid, target = tcp(cfg.AppPort), 0, "app"
					}
					var res *loadgen.Result
					var dl *Delivery
					var err error
					bpid := backendPID(sc)
					if sc.Deliveries {
						res, dl, err = measureDeliveries(ctx, sc, tg, pid, bpid, conns, s.appPort(cfg), cfg)
					} else {
						res, err = measure(ctx, sc, tg, pid, bpid, conns, cfg)
					}
					if err != nil {
						return nil, fmt.Errorf("suite: %s %s c=%d: %w", target, sc.Name, conns, err)
					}
					if sc.Direct {
						// The app's own CPU, for reference (not a sidecar's).
						res.Label = "app " + sc.Name
					}
					rep.Runs = append(rep.Runs, RunRecord{Round: round, Target: target, Scenario: sc.Name, Conns: conns, Result: res, Delivery: dl})
					if dl != nil {
						logf("round %d  %-7s %-10s c=%-3d  delivered %d of %d accepted (%d within the window), %.0f msg/s delivered, drained %.2f s after the window%s",
							round, target, sc.Name, conns, dl.Delivered, dl.Accepted, dl.InWindow, dl.DeliveredRate, dl.DrainS, map[bool]string{true: "", false: "  !!! MESSAGES MISSING"}[dl.Delivered >= dl.Accepted])
					}
					side := "–"
					if res.Sidecar != nil {
						side = fmt.Sprintf("%.1f µs", res.Sidecar.CPUPerReqUS)
					}
					if res.Backend != nil {
						side += fmt.Sprintf("  %s CPU/req %.1f µs", sc.BackendComm, res.Backend.CPUPerReqUS)
					}
					logf("round %d  %-7s %-10s c=%-3d  %9.0f req/s  p50 %8.1f µs  p99 %9.1f µs  sidecar CPU/req %s  errors %d non-2xx %d",
						round, target, sc.Name, conns, res.RPS, res.Latency.P50, res.Latency.P99, side, res.Errors, res.Non2xx)
					for _, w := range res.Warnings {
						logf("!!! %s", w)
					}
				}
			}
		}
	}
	for i, c := range sides {
		if st, err := proc.ReadStatus(c.pid()); err == nil {
			infos[i].PeakRSS = st.VmHWM
		}
	}
	rep.Sidecars = infos
	rep.Summaries = summarize(rep.Runs, cfg.Sidecars)
	rep.Derived = derive(rep.Summaries)
	rep.Compared = compare(rep.Summaries, cfg.Baseline)
	rep.Redirect = redirectStatus(ctx, cfg.Sidecars)
	for name, st := range rep.Redirect {
		logf("%s: eBPF redirect %s", name, st)
	}
	for _, s := range rep.Summaries {
		if s.Delivered < s.Accepted {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s %s c=%d: %d of %d accepted messages were not delivered", s.Target, s.Scenario, s.Conns, s.Accepted-s.Delivered, s.Accepted))
		}
		if s.Errors > 0 || s.Non2xx > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s %s c=%d: %d errors, %d non-2xx", s.Target, s.Scenario, s.Conns, s.Errors, s.Non2xx))
		}
	}
	return rep, nil
}

// startOnce starts a sidecar, times exec → healthz 204, and stops it.
func startOnce(ctx context.Context, s Sidecar, cfg Config, resources, logs string) (time.Duration, error) {
	if err := waitPortFree(s.HTTPPort, 5*time.Second); err != nil {
		return 0, err
	}
	c, err := start(s.Name, sidecarArgv(s, s.appPort(cfg), resources), filepath.Join(logs, s.Name+"-startup.log"), cfg.SidecarCPUs)
	if err != nil {
		return 0, err
	}
	defer c.stop()
	return c.waitStatus(ctx, s.target(), "/v1.0/healthz", 204, 30*time.Second)
}

func measure(ctx context.Context, sc Scenario, t loadgen.Target, pid, backend, conns int, cfg Config) (*loadgen.Result, error) {
	t.Path = sc.Path
	req := loadgen.Request{Method: sc.Method, Path: sc.Path, Host: t.Host, Body: []byte(sc.Body)}
	return loadgen.Run(ctx, loadgen.Config{
		Label: sc.Name, Target: t, Request: req.Encode(), Conns: conns,
		Duration: cfg.Duration, Warmup: cfg.Warmup, PID: pid, BackendPID: backend,
	})
}

// backendPID is the scenario's backend server process, 0 when it has none
// or it is not found (then no backend CPU is reported). With several, the
// oldest (lowest pid) is taken: the one the services script started.
func backendPID(sc Scenario) int {
	if sc.BackendComm == "" {
		return 0
	}
	if pids := proc.FindByComm(sc.BackendComm); len(pids) > 0 {
		return pids[0]
	}
	return 0
}

// check sends each scenario's request once; the first request also seeds
// the state key that state-get reads.
func check(ctx context.Context, s Sidecar, scens []Scenario) []Check {
	var out []Check
	seed := Scenario{Name: "seed k1", Method: "POST", Path: "/v1.0/state/statestore", Body: `[{"key":"k1","value":{"a":1}}]`}
	seeds := []Scenario{seed}
	for _, sc := range scens {
		// Each backend store's get scenario reads the k1 its save seeds.
		if store, ok := strings.CutSuffix(sc.Name, "-state-get"); ok {
			sv := seed
			sv.Name, sv.Path = "seed "+store+" k1", strings.TrimSuffix(sc.Path, "/k1")
			seeds = append(seeds, sv)
		}
	}
	client := httpClient(s)
	for _, sc := range append(seeds, scens...) {
		if sc.Direct {
			continue
		}
		ch := Check{Scenario: sc.Name}
		req, err := http.NewRequestWithContext(ctx, sc.Method, "http://"+s.target().Host+sc.Path, strings.NewReader(sc.Body))
		if err == nil {
			if sc.Body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
				resp.Body.Close()
				ch.Status, ch.Body = resp.StatusCode, string(b)
			}
		}
		if err != nil {
			ch.Error = err.Error()
		}
		out = append(out, ch)
	}
	return out
}

func cpusOf(pid int) string {
	st, err := proc.ReadStatus(pid)
	if err != nil {
		return "?"
	}
	return st.CPUsAllowed
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoOS: runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.LoadAvg, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return m
}

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
