package loadgen

import (
	"math"
	"testing"
	"time"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol*want }

func TestSummarize(t *testing.T) {
	h := newHist()
	// 1..10000 µs, one each: p50 = 5000 µs, p99 = 9900 µs, p99.9 = 9990 µs.
	for v := int64(1); v <= 10000; v++ {
		h.RecordValue(v * int64(time.Microsecond))
	}
	p := Summarize(h)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"min", p.Min, 1}, {"p50", p.P50, 5000}, {"p90", p.P90, 9000}, {"p99", p.P99, 9900},
		{"p99.9", p.P999, 9990}, {"max", p.Max, 10000}, {"mean", p.Mean, 5000.5},
	} {
		// 3 significant digits: within 0.1 %.
		if !near(c.got, c.want, 0.001) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if (Summarize(newHist()) != Percentiles{}) {
		t.Error("empty histogram should summarise to zeros")
	}
}

func TestCurve(t *testing.T) {
	h := newHist()
	for i := 0; i < 1000; i++ {
		h.RecordValue(100 * int64(time.Microsecond))
	}
	h.RecordValue(50 * int64(time.Millisecond))
	c := Curve(h)
	if c[0].Percentile != 0 || c[len(c)-1].Percentile != 100 {
		t.Fatalf("curve ends: %v … %v", c[0], c[len(c)-1])
	}
	for i := 1; i < len(c); i++ {
		if c[i].Percentile <= c[i-1].Percentile || c[i].Micros < c[i-1].Micros {
			t.Fatalf("curve not monotonic at %d: %v then %v", i, c[i-1], c[i])
		}
	}
	if !near(c[len(c)-1].Micros, 50000, 0.001) || !near(c[0].Micros, 100, 0.001) {
		t.Fatalf("curve values: first %v last %v", c[0], c[len(c)-1])
	}
	// 1001 samples: ten points per decade up to 1/(1-p) = 1001, plus the max.
	if len(c) != 32 {
		t.Fatalf("curve has %d points", len(c))
	}
}
