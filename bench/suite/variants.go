package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Comparison is one variant of the baseline (skiffd+ebpf, skiffd+uds)
// against the baseline (skiffd on plain TCP) for one scenario and conns.
type Comparison struct {
	Scenario string  `json:"scenario"`
	Conns    int     `json:"conns"`
	Target   string  `json:"target"`
	BaseP50  float64 `json:"base_p50_us"`
	P50      float64 `json:"p50_us"`
	// P50Lower is how much lower the variant's p50 is, in % of the
	// baseline's (positive: faster).
	P50Lower float64 `json:"p50_lower_pct"`
	BaseRPS  float64 `json:"base_rps"`
	RPS      float64 `json:"rps"`
	RPSRatio float64 `json:"rps_ratio"`
}

// compare relates every target named base+"+…" to base.
func compare(sums []Summary, base string) []Comparison {
	type key struct {
		scenario string
		conns    int
	}
	bases := map[key]Summary{}
	for _, s := range sums {
		if s.Target == base {
			bases[key{s.Scenario, s.Conns}] = s
		}
	}
	var out []Comparison
	for _, s := range sums {
		b, ok := bases[key{s.Scenario, s.Conns}]
		if !ok || !strings.HasPrefix(s.Target, base+"+") || b.P50 == 0 || b.RPS == 0 {
			continue
		}
		out = append(out, Comparison{
			Scenario: s.Scenario, Conns: s.Conns, Target: s.Target,
			BaseP50: b.P50, P50: s.P50, P50Lower: 100 * (b.P50 - s.P50) / b.P50,
			BaseRPS: b.RPS, RPS: s.RPS, RPSRatio: s.RPS / b.RPS,
		})
	}
	return out
}

// appPorts are the distinct app ports the sidecars call, cfg.AppPort first.
func appPorts(cfg Config) []int {
	ports := []int{cfg.AppPort}
	seen := map[int]bool{cfg.AppPort: true}
	for _, s := range cfg.Sidecars {
		if p := s.appPort(cfg); !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports
}

// httpClient talks to a sidecar over TCP or its Unix socket.
func httpClient(s Sidecar) *http.Client {
	t := s.target()
	tr := &http.Transport{DisableCompression: true}
	if t.Network == "unix" {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", t.Addr)
		}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: tr}
}

// redirectStatus reads each sidecar's eBPF shortcut attributes from
// GET /v1.0/metadata (skiffd only; daprd has none).
func redirectStatus(ctx context.Context, sides []Sidecar) map[string]string {
	out := map[string]string{}
	for _, s := range sides {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://"+s.target().Host+"/v1.0/metadata", nil)
		if err != nil {
			continue
		}
		resp, err := httpClient(s).Do(req)
		if err != nil {
			continue
		}
		var md struct {
			Extended map[string]string `json:"extended"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&md)
		resp.Body.Close()
		if err != nil || md.Extended["ebpfRedirect"] == "" {
			continue
		}
		var keys []string
		for k := range md.Extended {
			if strings.HasPrefix(k, "ebpfRedirect") && k != "ebpfRedirect" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		line := md.Extended["ebpfRedirect"]
		for _, k := range keys {
			line += fmt.Sprintf(", %s=%s", strings.TrimPrefix(k, "ebpfRedirect"), md.Extended[k])
		}
		out[s.Name] = line
	}
	return out
}
