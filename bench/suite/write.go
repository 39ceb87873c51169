package suite

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/skiffd/skiff/bench/report"
)

// Write saves results.json, results.md and latency.svg (plus one plot per
// connection count) in dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := report.WriteJSON(filepath.Join(dir, "results.json"), r); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(r.Markdown()), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	all, byConns := r.series()
	if err := report.WriteSVGFile(filepath.Join(dir, "latency.svg"), "latency by percentile, medians of rounds (all scenarios)", all); err != nil {
		return err
	}
	for conns, s := range byConns {
		name := fmt.Sprintf("latency-c%d.svg", conns)
		if err := report.WriteSVGFile(filepath.Join(dir, name), fmt.Sprintf("latency by percentile, %d connection(s)", conns), s); err != nil {
			return err
		}
	}
	return nil
}

func (r *Report) series() ([]report.Series, map[int][]report.Series) {
	var all []report.Series
	by := map[int][]report.Series{}
	for _, s := range r.Summaries {
		se := report.Series{Name: fmt.Sprintf("%s %s c=%d", s.Target, s.Scenario, s.Conns), Points: s.Curve}
		all = append(all, se)
		se.Name = fmt.Sprintf("%s %s", s.Target, s.Scenario)
		by[s.Conns] = append(by[s.Conns], se)
	}
	return all, by
}

func scenarioTitle(name string) string {
	for _, s := range Scenarios {
		if s.Name == name {
			return s.Title
		}
	}
	return name
}

// Markdown renders the report in the layout of reference.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# skiff benchmark, %s\n\n", r.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %d CPUs, Linux %s, %s. Method: %s.\n\n", r.Machine.CPUs, r.Machine.Kernel, r.Machine.GoOS, r.Method)
	b.WriteString("Placement:")
	for i, p := range r.Placement {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s on CPUs %s", p.Role, p.CPUs)
	}
	b.WriteString(".\n\n")

	if len(r.Warnings) > 0 {
		b.WriteString("**Warnings**\n\n")
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "- ⚠ %s\n", w)
		}
		b.WriteString("\n")
	}

	b.WriteString("| scenario | conns | target | req/s | p50 | p99 | sidecar CPU per request | RSS |\n|---|---|---|---|---|---|---|---|\n")
	genBound := false
	for _, s := range r.Summaries {
		cpu, rss := "–", "–"
		if s.CPUPerReqUS > 0 {
			cpu = fmt.Sprintf("%.1f µs", s.CPUPerReqUS)
		}
		if s.RSS > 0 {
			rss = report.MiB(s.RSS)
		}
		errs := ""
		if s.GenBound {
			errs = " †"
			genBound = true
		}
		if s.Errors > 0 || s.Non2xx > 0 {
			errs = fmt.Sprintf(" ⚠ %d errors, %d non-2xx", s.Errors, s.Non2xx)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s%s | %s | %s | %s | %s |\n", scenarioTitle(s.Scenario), s.Conns, s.Target,
			report.Rate(s.RPS), errs, report.Micros(s.P50), report.Micros(s.P99), cpu, rss)
	}
	if genBound {
		b.WriteString("\n† the load generator used all of its CPU in at least one round: the target may go faster than this.\n")
	}
	b.WriteString("\n")

	hasDeliveries := false
	for _, s := range r.Summaries {
		hasDeliveries = hasDeliveries || s.Accepted > 0
	}
	if hasDeliveries {
		b.WriteString("| publish scenario | conns | target | published req/s | delivered msg/s | delivered within the window | delivered / accepted (all rounds) | p99 publish | sidecar CPU/msg | broker CPU/msg |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range r.Summaries {
			if s.Accepted == 0 {
				continue
			}
			mark := ""
			if s.Delivered < s.Accepted {
				mark = " ⚠ missing"
			}
			broker := "–"
			if s.BackendCPUUS > 0 {
				broker = fmt.Sprintf("%.1f µs", s.BackendCPUUS)
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %.1f %% | %d / %d%s | %s | %.1f µs | %s |\n", s.Scenario, s.Conns, s.Target, report.Rate(s.RPS),
				report.Rate(s.DeliveredRate), 100*float64(s.InWindow)/float64(s.Accepted), s.Delivered, s.Accepted, mark, report.Micros(s.P99), s.CPUPerReqUS, broker)
		}
		b.WriteString("\n")
	}

	if len(r.Derived) > 0 {
		b.WriteString("| sidecar | conns | invoke req/s as % of direct | invoke added p50 | invoke added p99 |\n|---|---|---|---|---|\n")
		for _, d := range r.Derived {
			fmt.Fprintf(&b, "| %s | %d | %.1f %% | %s | %s |\n", d.Target, d.Conns, d.InvokePctDirect, signedMicros(d.AddedP50US), signedMicros(d.AddedP99US))
		}
		b.WriteString("\n")
	}

	if len(r.Compared) > 0 {
		b.WriteString("Against skiffd on plain TCP (skiffd+ebpf: the eBPF loopback shortcut; skiffd+uds: the API on a Unix socket):\n\n")
		b.WriteString("| scenario | conns | target | p50 plain → variant | p50 lower by | req/s plain → variant | req/s ratio |\n|---|---|---|---|---|---|---|\n")
		for _, c := range r.Compared {
			fmt.Fprintf(&b, "| %s | %d | %s | %s → %s | %.1f %% | %s → %s | ×%.2f |\n", c.Scenario, c.Conns, c.Target,
				report.Micros(c.BaseP50), report.Micros(c.P50), c.P50Lower, report.Rate(c.BaseRPS), report.Rate(c.RPS), c.RPSRatio)
		}
		b.WriteString("\n")
	}
	if len(r.Redirect) > 0 {
		var names []string
		for n := range r.Redirect {
			names = append(names, n)
		}
		sort.Strings(names)
		b.WriteString("eBPF shortcut at the end (GET /v1.0/metadata, extended):\n\n")
		for _, n := range names {
			fmt.Fprintf(&b, "- %s: %s\n", n, r.Redirect[n])
		}
		b.WriteString("\n")
	}

	b.WriteString("| sidecar | binary | idle RSS | peak RSS | startup (exec → healthz 204, median) |\n|---|---|---|---|---|\n")
	for _, s := range r.Sidecars {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.1f ms (of %d) |\n", s.Name, report.MiB(s.BinaryBytes), report.MiB(s.IdleRSS), report.MiB(s.PeakRSS), s.StartupMed, len(s.StartupMS))
	}
	b.WriteString("\nLatency plots: latency.svg (all), latency-c*.svg (per connection count). Raw rounds: results.json.\n")
	return b.String()
}

func signedMicros(us float64) string {
	if us < 0 {
		return "−" + report.Micros(-us)
	}
	return "+" + report.Micros(us)
}
