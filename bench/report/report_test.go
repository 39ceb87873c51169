package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/skiffd/skiff/bench/loadgen"
)

func TestMicros(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{{0, "0"}, {3.456, "3.46 µs"}, {87.2, "87 µs"}, {2750, "2.75 ms"}, {19900, "19.9 ms"}, {1.2e6, "1.2 s"}} {
		if got := Micros(c.in); got != c.want {
			t.Errorf("Micros(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Thousands(1234567); got != "1,234,567" {
		t.Errorf("Thousands: %q", got)
	}
	if got := Thousands(999); got != "999" {
		t.Errorf("Thousands: %q", got)
	}
}

func curve(scale float64) []loadgen.CurvePoint {
	var pts []loadgen.CurvePoint
	for i, p := range []float64{0, 50, 90, 99, 99.9, 100} {
		us := []float64{10, 20, 40, 100, 900, 2000}[i]
		pts = append(pts, loadgen.CurvePoint{Percentile: p, Micros: us * scale})
	}
	return pts
}

func TestSVGWellFormed(t *testing.T) {
	series := []Series{{"skiffd <healthz> & co", curve(1)}, {"daprd", curve(30)}, {"empty", nil}}
	var buf bytes.Buffer
	if err := SVG(&buf, `latency "by" percentile`, series); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	polylines, texts := 0, []string{}
	var root string
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = e.Name.Space + " " + e.Name.Local
			}
			if e.Name.Local == "polyline" {
				polylines++
			}
			inText = e.Name.Local == "text"
		case xml.CharData:
			if inText {
				texts = append(texts, string(e))
			}
		case xml.EndElement:
			inText = false
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Fatalf("root element %q", root)
	}
	if polylines != len(series) {
		t.Fatalf("%d polylines for %d series", polylines, len(series))
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"skiffd <healthz> & co", "daprd", "99.9%", "0%", "10 µs", "10 ms"} {
		if !strings.Contains(all, want) {
			t.Errorf("label %q missing from %q", want, all)
		}
	}
}

func TestTableWarnsLoudly(t *testing.T) {
	r := &loadgen.Result{Label: "x", Mode: "closed", Conns: 1, RPS: 1000, Errors: 3, Warnings: []string{"3 requests FAILED: boom"}}
	var buf bytes.Buffer
	if err := Table(&buf, []*loadgen.Result{r}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "!!! x: 3 requests FAILED") || !strings.Contains(buf.String(), "1,000") {
		t.Fatalf("table:\n%s", buf.String())
	}
}
