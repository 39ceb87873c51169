package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/skiffd/skiff/bench/loadgen"
)

// Micros formats a latency in microseconds with a unit that keeps three
// significant figures readable: "87.2 µs", "2.75 ms", "1.20 s".
func Micros(us float64) string {
	switch {
	case us <= 0:
		return "0"
	case us < 10:
		return fmt.Sprintf("%.2f µs", us)
	case us < 1000:
		return fmt.Sprintf("%.0f µs", us)
	case us < 1e6:
		return fmt.Sprintf("%.3g ms", us/1e3)
	default:
		return fmt.Sprintf("%.3g s", us/1e6)
	}
}

// Rate formats requests per second with thousands separators.
func Rate(rps float64) string { return Thousands(int64(rps + 0.5)) }

// Thousands formats n as "12,345".
func Thousands(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// MiB formats bytes as mebibytes.
func MiB(b int64) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

// Table writes one line per result.
func Table(w io.Writer, results []*loadgen.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tmode\tconns\treq/s\tp50\tp90\tp99\tp99.9\tmax\tnon-2xx\terrors\tsidecar CPU/req\tsidecar RSS\tgen CPU/req\t")
	for _, r := range results {
		side, rss := "–", "–"
		if r.Sidecar != nil {
			side = fmt.Sprintf("%.1f µs", r.Sidecar.CPUPerReqUS)
			rss = MiB(r.Sidecar.RSSBytes)
		}
		gen := "–"
		if r.Generator != nil {
			gen = fmt.Sprintf("%.2f µs", r.Generator.CPUPerReqUS)
		}
		mode := r.Mode
		if r.Mode == "open" {
			mode = "open@" + Rate(r.Rate)
		}
		l := r.Latency
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t\n",
			r.Label, mode, r.Conns, Rate(r.RPS), Micros(l.P50), Micros(l.P90), Micros(l.P99), Micros(l.P999), Micros(l.Max),
			r.Non2xx, r.Errors, side, rss, gen)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	for _, r := range results {
		if r.Service != nil {
			fmt.Fprintf(w, "%s: service time (from actual send) p50 %s p99 %s max %s; %d sends left late\n",
				r.Label, Micros(r.Service.P50), Micros(r.Service.P99), Micros(r.Service.Max), r.Late)
		}
		for _, warn := range r.Warnings {
			fmt.Fprintf(w, "!!! %s: %s\n", r.Label, warn)
		}
	}
	return nil
}

// WriteJSON writes v as indented JSON to path.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
