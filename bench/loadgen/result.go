package loadgen

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/skiffd/skiff/bench/proc"
)

// Result is one measurement's outcome. Latencies are in microseconds.
type Result struct {
	Label      string           `json:"label,omitempty"`
	URL        string           `json:"url,omitempty"`
	Mode       string           `json:"mode"` // "closed" or "open"
	Conns      int              `json:"conns"`
	Rate       float64          `json:"target_rate,omitempty"`
	Duration   float64          `json:"duration_s"`
	Requests   int64            `json:"requests"`
	RPS        float64          `json:"rps"`
	Non2xx     int64            `json:"non_2xx"`
	Errors     int64            `json:"errors"`
	Statuses   map[int]int64    `json:"statuses"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	Late       int64            `json:"late_sends,omitempty"`
	Unsent     int64            `json:"unsent,omitempty"`
	Latency    Percentiles      `json:"latency_us"`
	Service    *Percentiles     `json:"service_us,omitempty"`
	Curve      []CurvePoint     `json:"curve"`
	Sidecar    *ProcUsage       `json:"sidecar,omitempty"`
	Generator  *ProcUsage       `json:"generator,omitempty"`
	Backend    *ProcUsage       `json:"backend,omitempty"` // Config.BackendPID's
	Warnings   []string         `json:"warnings,omitempty"`

	Hist *hdr.Histogram `json:"-"`
}

// Percentiles summarises a latency distribution, in microseconds.
type Percentiles struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

// CurvePoint is one point of the percentile distribution.
type CurvePoint struct {
	Percentile float64 `json:"p"` // 0–100
	Micros     float64 `json:"us"`
}

// ProcUsage is a process's consumption over the measured window.
type ProcUsage struct {
	PID          int     `json:"pid"`
	CPUSeconds   float64 `json:"cpu_s"`
	CPUPerReqUS  float64 `json:"cpu_per_req_us"`
	CPUUtil      float64 `json:"cpu_util"` // cores busy on average
	RSSBytes     int64   `json:"rss_bytes"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	Placement    string  `json:"placement,omitempty"`
}

// Summarize computes the percentiles of h (values in nanoseconds).
func Summarize(h *hdr.Histogram) Percentiles {
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	us := func(v int64) float64 { return float64(v) / 1e3 }
	return Percentiles{
		Min:  us(h.Min()),
		Mean: h.Mean() / 1e3,
		P50:  us(h.ValueAtQuantile(50)),
		P90:  us(h.ValueAtQuantile(90)),
		P99:  us(h.ValueAtQuantile(99)),
		P999: us(h.ValueAtQuantile(99.9)),
		Max:  us(h.Max()),
	}
}

// Curve samples h at percentiles spaced evenly on the log scale of
// 1/(1-p), from p=0 to beyond the last recorded value, ending with the max.
func Curve(h *hdr.Histogram) []CurvePoint {
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	var pts []CurvePoint
	// Ten points per decade of 1/(1-p), up to where one sample remains.
	limit := math.Log10(float64(n))
	for x := 0.0; x <= limit+1e-9; x += 0.1 {
		p := 100 * (1 - math.Pow(10, -x))
		pts = append(pts, CurvePoint{Percentile: p, Micros: float64(h.ValueAtQuantile(p)) / 1e3})
	}
	pts = append(pts, CurvePoint{Percentile: 100, Micros: float64(h.Max()) / 1e3})
	return pts
}

func collect(cfg *Config, workers []*worker) *Result {
	res := &Result{
		Label:      cfg.Label,
		Mode:       "closed",
		Conns:      cfg.Conns,
		Duration:   cfg.Duration.Seconds(),
		Statuses:   map[int]int64{},
		ErrorKinds: map[string]int64{},
	}
	if cfg.Rate > 0 {
		res.Mode, res.Rate = "open", cfg.Rate
	}
	lat := newHist()
	var lastDone int64
	var svc *hdr.Histogram
	if cfg.Rate > 0 {
		svc = newHist()
	}
	for _, w := range workers {
		lat.Merge(w.lat)
		if svc != nil {
			svc.Merge(w.svc)
		}
		for code, n := range w.codes {
			if n == 0 {
				continue
			}
			res.Statuses[code] += n
			if code < 200 || code > 299 {
				res.Non2xx += n
			}
		}
		res.Errors += w.errs
		for k, n := range w.errKinds {
			res.ErrorKinds[k] += n
		}
		res.Late += w.late
		res.Unsent += w.unsent
		lastDone = max(lastDone, w.lastDone)
	}
	res.Requests = lat.TotalCount()
	// An open loop that falls behind sends its backlog after the window:
	// divide by the time it really took, so req/s is what was achieved.
	elapsed := cfg.Duration
	if cfg.Rate > 0 {
		elapsed = max(elapsed, time.Duration(lastDone)-cfg.Warmup)
	}
	res.RPS = float64(res.Requests) / elapsed.Seconds()
	res.Latency = Summarize(lat)
	res.Curve = Curve(lat)
	res.Hist = lat
	if svc != nil {
		s := Summarize(svc)
		res.Service = &s
	}
	if res.Errors > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d requests FAILED: %s", res.Errors, topErrors(res.ErrorKinds)))
	}
	if res.Non2xx > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d responses were not 2xx: %v", res.Non2xx, res.Statuses))
	}
	if res.Unsent > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("open loop fell %v behind and gave up on %d sends", cfg.Timeout, res.Unsent))
	}
	if res.Rate > 0 && res.RPS < 0.95*res.Rate {
		res.Warnings = append(res.Warnings, fmt.Sprintf("open loop reached %.0f of the %.0f req/s asked", res.RPS, res.Rate))
	}
	return res
}

func topErrors(m map[string]int64) string {
	type kv struct {
		k string
		n int64
	}
	var all []kv
	for k, n := range m {
		all = append(all, kv{k, n})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].n > all[j].n })
	s := ""
	for i, e := range all {
		if i == 3 {
			break
		}
		if i > 0 {
			s += "; "
		}
		s += fmt.Sprintf("%d× %s", e.n, e.k)
	}
	return s
}

func usageOf(pid int, u proc.Usage, requests int64, window time.Duration) *ProcUsage {
	pu := &ProcUsage{
		PID:          pid,
		CPUSeconds:   u.CPU.Seconds(),
		RSSBytes:     u.RSS,
		PeakRSSBytes: u.HWM,
		Placement:    proc.Placement(pid),
	}
	if window > 0 {
		pu.CPUUtil = float64(u.CPU) / float64(window)
	}
	if requests > 0 {
		pu.CPUPerReqUS = float64(u.CPU) / float64(time.Microsecond) / float64(requests)
	}
	return pu
}

func gomaxprocs() int { return runtime.GOMAXPROCS(0) }
