package report

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/skiffd/skiff/bench/loadgen"
)

// Series is one curve on the plot.
type Series struct {
	Name   string
	Points []loadgen.CurvePoint
}

var palette = []string{
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
	"#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
}

// plot geometry
const (
	width, height = 960, 560
	left, right   = 80, 260 // right margin holds the legend
	top, bottom   = 40, 60
)

// WriteSVGFile renders series to path.
func WriteSVGFile(path, title string, series []Series) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write svg: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := SVG(bw, title, series); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write svg: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write svg: %w", err)
	}
	return nil
}

// xOf maps a percentile to log10(1/(1-p)); p=100 (the max) goes one step
// past the previous point.
func xOf(p, prev float64) float64 {
	if p >= 100 {
		return prev + 0.15
	}
	return -math.Log10(1 - p/100)
}

// SVG writes a latency-by-percentile plot: x is log10(1/(1-p)), y is the
// latency on a log scale, one polyline per series.
func SVG(w io.Writer, title string, series []Series) error {
	// Ranges.
	maxX, minY, maxY := 1.0, math.Inf(1), math.Inf(-1)
	for _, s := range series {
		prev := 0.0
		for _, pt := range s.Points {
			x := xOf(pt.Percentile, prev)
			prev = x
			maxX = math.Max(maxX, x)
			if pt.Micros > 0 {
				minY = math.Min(minY, pt.Micros)
				maxY = math.Max(maxY, pt.Micros)
			}
		}
	}
	if math.IsInf(minY, 1) {
		minY, maxY = 1, 1000
	}
	maxX = math.Ceil(maxX)
	lo := math.Floor(math.Log10(minY))
	hi := math.Ceil(math.Log10(maxY))
	if hi <= lo {
		hi = lo + 1
	}
	pw, ph := float64(width-left-right), float64(height-top-bottom)
	px := func(x float64) float64 { return float64(left) + x/maxX*pw }
	py := func(us float64) float64 {
		if us <= 0 {
			us = minY
		}
		return float64(top) + ph - (math.Log10(us)-lo)/(hi-lo)*ph
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left, esc(title))
	// Grid and axes.
	fmt.Fprintf(&b, `<g stroke="#ddd" stroke-width="1">`+"\n")
	for d := 0.0; d <= maxX; d++ {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`+"\n", px(d), top, px(d), height-bottom)
	}
	for e := lo; e <= hi; e++ {
		y := py(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`+"\n", left, y, width-right, y)
	}
	fmt.Fprintf(&b, "</g>\n")
	fmt.Fprintf(&b, `<g stroke="#000" stroke-width="1"><line x1="%d" y1="%d" x2="%d" y2="%d"/><line x1="%d" y1="%d" x2="%d" y2="%d"/></g>`+"\n",
		left, height-bottom, width-right, height-bottom, left, top, left, height-bottom)
	fmt.Fprintf(&b, `<g text-anchor="middle">`+"\n")
	for d := 0.0; d <= maxX; d++ {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", px(d), height-bottom+18, esc(pctLabel(d)))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d">percentile</text>`+"\n", float64(left)+pw/2, height-bottom+42)
	fmt.Fprintf(&b, "</g>\n")
	fmt.Fprintf(&b, `<g text-anchor="end">`+"\n")
	for e := lo; e <= hi; e++ {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f">%s</text>`+"\n", left-6, py(math.Pow(10, e))+4, esc(Micros(math.Pow(10, e))))
	}
	fmt.Fprintf(&b, "</g>\n")
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">latency</text>`+"\n", float64(top)+ph/2)
	// Curves and legend.
	for i, s := range series {
		color := palette[i%len(palette)]
		dash := ""
		if i >= len(palette) {
			dash = ` stroke-dasharray="6 3"`
		}
		var pts strings.Builder
		prev := 0.0
		for _, pt := range s.Points {
			x := xOf(pt.Percentile, prev)
			prev = x
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(x), py(pt.Micros))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.8"%s points="%s"/>`+"\n", color, dash, strings.TrimSpace(pts.String()))
		ly := top + 10 + i*18
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"%s/>`+"\n", width-right+14, ly, width-right+36, ly, color, dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", width-right+42, ly+4, esc(s.Name))
	}
	fmt.Fprintf(&b, "</svg>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("svg: %w", err)
	}
	return nil
}

// pctLabel names the percentile at x = log10(1/(1-p)): 0%, 90%, 99%, 99.9%…
func pctLabel(x float64) string {
	if x == 0 {
		return "0%"
	}
	return nines(int(x))
}

func nines(n int) string {
	switch n {
	case 1:
		return "90%"
	case 2:
		return "99%"
	default:
		return "99." + strings.Repeat("9", n-2) + "%"
	}
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
