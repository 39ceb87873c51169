package suite

import (
	"sort"
	"strings"

	"github.com/skiffd/skiff/bench/loadgen"
)

// Summary is the median over rounds of one (target, scenario, conns).
type Summary struct {
	Target      string  `json:"target"`
	Scenario    string  `json:"scenario"`
	Conns       int     `json:"conns"`
	Rounds      int     `json:"rounds"`
	RPS         float64 `json:"rps"`
	P50         float64 `json:"p50_us"`
	P90         float64 `json:"p90_us"`
	P99         float64 `json:"p99_us"`
	P999        float64 `json:"p99_9_us"`
	Max         float64 `json:"max_us"`
	CPUPerReqUS float64 `json:"sidecar_cpu_per_req_us,omitempty"`
	// BackendCPUUS is the backend server's CPU per request (Scenario.BackendComm).
	BackendCPUUS float64 `json:"backend_cpu_per_req_us,omitempty"`
	RSS          int64   `json:"sidecar_rss_bytes,omitempty"` // largest end-of-run RSS
	GenCPUUS     float64 `json:"generator_cpu_per_req_us"`
	Errors       int64   `json:"errors"`
	Non2xx       int64   `json:"non_2xx"`
	// GenBound is set when the load generator used ~all of its CPU in some
	// round: req/s is then the generator's limit as much as the target's.
	GenBound bool `json:"generator_bound,omitempty"`
	// Publish scenarios: deliveries counted at the app, summed over rounds,
	// and the median delivered rate.
	Accepted      int64   `json:"accepted,omitempty"`
	InWindow      int64   `json:"delivered_in_window,omitempty"`
	Delivered     int64   `json:"delivered,omitempty"`
	DeliveredRate float64 `json:"delivered_per_s,omitempty"`
	// Curve is the percentile curve of the round with the median req/s.
	Curve []loadgen.CurvePoint `json:"curve"`
}

// Derived relates invoke to the app called directly, per sidecar and conns.
type Derived struct {
	Target          string  `json:"target"`
	Conns           int     `json:"conns"`
	InvokePctDirect float64 `json:"invoke_rps_pct_of_direct"`
	AddedP50US      float64 `json:"invoke_added_p50_us"`
	AddedP99US      float64 `json:"invoke_added_p99_us"`
}

func summarize(runs []RunRecord, sidecars []Sidecar) []Summary {
	type key struct {
		target, scenario string
		conns            int
	}
	groups := map[key][]*loadgen.Result{}
	deliveries := map[key][]*Delivery{}
	var order []key
	for _, r := range runs {
		k := key{r.Target, r.Scenario, r.Conns}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r.Result)
		if r.Delivery != nil {
			deliveries[k] = append(deliveries[k], r.Delivery)
		}
	}
	// Report order: scenario as run, then conns, then target as configured.
	rank := map[string]int{"app": -1}
	for i, s := range sidecars {
		rank[s.Name] = i
	}
	scenRank := map[string]int{}
	for _, k := range order {
		if _, ok := scenRank[k.scenario]; !ok {
			scenRank[k.scenario] = len(scenRank)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.scenario != b.scenario {
			return scenRank[a.scenario] < scenRank[b.scenario]
		}
		if a.conns != b.conns {
			return a.conns < b.conns
		}
		return rank[a.target] < rank[b.target]
	})
	var out []Summary
	for _, k := range order {
		rs := groups[k]
		s := Summary{Target: k.target, Scenario: k.scenario, Conns: k.conns, Rounds: len(rs)}
		pick := func(f func(*loadgen.Result) float64) float64 {
			xs := make([]float64, len(rs))
			for i, r := range rs {
				xs[i] = f(r)
			}
			return median(xs)
		}
		s.RPS = pick(func(r *loadgen.Result) float64 { return r.RPS })
		s.P50 = pick(func(r *loadgen.Result) float64 { return r.Latency.P50 })
		s.P90 = pick(func(r *loadgen.Result) float64 { return r.Latency.P90 })
		s.P99 = pick(func(r *loadgen.Result) float64 { return r.Latency.P99 })
		s.P999 = pick(func(r *loadgen.Result) float64 { return r.Latency.P999 })
		s.Max = pick(func(r *loadgen.Result) float64 { return r.Latency.Max })
		s.GenCPUUS = pick(func(r *loadgen.Result) float64 {
			if r.Generator == nil {
				return 0
			}
			return r.Generator.CPUPerReqUS
		})
		if rs[0].Sidecar != nil {
			s.CPUPerReqUS = pick(func(r *loadgen.Result) float64 {
				if r.Sidecar == nil {
					return 0
				}
				return r.Sidecar.CPUPerReqUS
			})
		}
		if rs[0].Backend != nil {
			s.BackendCPUUS = pick(func(r *loadgen.Result) float64 {
				if r.Backend == nil {
					return 0
				}
				return r.Backend.CPUPerReqUS
			})
		}
		for _, r := range rs {
			for _, w := range r.Warnings {
				s.GenBound = s.GenBound || strings.Contains(w, "CPU-bound")
			}
			s.Errors += r.Errors
			s.Non2xx += r.Non2xx
			if r.Sidecar != nil && r.Sidecar.RSSBytes > s.RSS {
				s.RSS = r.Sidecar.RSSBytes
			}
		}
		if ds := deliveries[k]; len(ds) > 0 {
			rates := make([]float64, len(ds))
			for i, d := range ds {
				s.Accepted += d.Accepted
				s.InWindow += d.InWindow
				s.Delivered += d.Delivered
				rates[i] = d.DeliveredRate
			}
			s.DeliveredRate = median(rates)
		}
		s.Curve = medianRun(rs).Curve
		out = append(out, s)
	}
	return out
}

// medianRun is the round whose req/s is the median (the lower middle for
// an even count).
func medianRun(rs []*loadgen.Result) *loadgen.Result {
	s := append([]*loadgen.Result(nil), rs...)
	sort.Slice(s, func(i, j int) bool { return s[i].RPS < s[j].RPS })
	return s[(len(s)-1)/2]
}

func derive(sums []Summary) []Derived {
	direct := map[int]Summary{}
	for _, s := range sums {
		if s.Scenario == "direct" {
			direct[s.Conns] = s
		}
	}
	var out []Derived
	for _, s := range sums {
		d, ok := direct[s.Conns]
		if s.Scenario != "invoke" || !ok || d.RPS == 0 {
			continue
		}
		out = append(out, Derived{
			Target: s.Target, Conns: s.Conns,
			InvokePctDirect: 100 * s.RPS / d.RPS,
			AddedP50US:      s.P50 - d.P50,
			AddedP99US:      s.P99 - d.P99,
		})
	}
	return out
}
