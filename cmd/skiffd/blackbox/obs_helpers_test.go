package blackbox

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// scrape reads http://127.0.0.1:port/metrics and parses the text format.
func scrape(t testing.TB, port int) map[string]*dto.MetricFamily {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: status %d", resp.StatusCode)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: parse: %v", err)
	}
	return fams
}

// series finds the metric of family f whose labels are exactly want.
func series(f *dto.MetricFamily, want map[string]string) *dto.Metric {
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		ok := true
		for _, l := range m.GetLabel() {
			if v, has := want[l.GetName()]; !has || v != l.GetValue() {
				ok = false
				break
			}
		}
		if ok {
			return m
		}
	}
	return nil
}

// describe lists a family's series, for failure messages.
func describe(f *dto.MetricFamily) string {
	if f == nil {
		return "(no family)"
	}
	var b strings.Builder
	for _, m := range f.GetMetric() {
		b.WriteString("{")
		for i, l := range m.GetLabel() {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(l.GetName() + "=" + l.GetValue())
		}
		b.WriteString("} ")
	}
	return b.String()
}

// portClosed reports whether nothing accepts on 127.0.0.1:port.
func portClosed(port int) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		return true
	}
	resp.Body.Close()
	return false
}
