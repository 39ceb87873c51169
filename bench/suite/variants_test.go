package suite

import (
	"math"
	"path/filepath"
	"testing"
)

func TestCompareVariants(t *testing.T) {
	sums := []Summary{
		{Target: "skiffd", Scenario: "state-get", Conns: 1, P50: 40, RPS: 10000},
		{Target: "skiffd+ebpf", Scenario: "state-get", Conns: 1, P50: 28, RPS: 14000},
		{Target: "skiffd+uds", Scenario: "state-get", Conns: 1, P50: 20, RPS: 20000},
		{Target: "daprd", Scenario: "state-get", Conns: 1, P50: 100, RPS: 5000},
		{Target: "skiffd+ebpf", Scenario: "invoke", Conns: 1, P50: 28, RPS: 14000}, // no baseline
	}
	got := compare(sums, "skiffd")
	if len(got) != 2 {
		t.Fatalf("%d comparisons: %+v", len(got), got)
	}
	e := got[0]
	if e.Target != "skiffd+ebpf" || math.Abs(e.P50Lower-30) > 1e-9 || math.Abs(e.RPSRatio-1.4) > 1e-9 {
		t.Fatalf("ebpf comparison %+v", e)
	}
	if u := got[1]; u.Target != "skiffd+uds" || u.RPSRatio != 2 || u.P50Lower != 50 {
		t.Fatalf("uds comparison %+v", u)
	}
}

func TestVariantTargets(t *testing.T) {
	cfg := Config{AppPort: 6001, Sidecars: []Sidecar{
		{Name: "skiffd", HTTPPort: 3500},
		{Name: "skiffd+ebpf", HTTPPort: 3510, AppPort: 6011},
		{Name: "skiffd+uds", HTTPPort: 3520, UnixDir: filepath.Join(t.TempDir(), "x")},
	}}
	if p := appPorts(cfg); len(p) != 2 || p[0] != 6001 || p[1] != 6011 {
		t.Fatalf("appPorts = %v", p)
	}
	if tg := cfg.Sidecars[2].target(); tg.Network != "unix" || tg.Addr != filepath.Join(cfg.Sidecars[2].UnixDir, "dapr-http-bench.socket") {
		t.Fatalf("uds target %+v", tg)
	}
	if tg := cfg.Sidecars[0].target(); tg.Network != "tcp" || tg.Addr != "127.0.0.1:3500" {
		t.Fatalf("tcp target %+v", tg)
	}
	argv := sidecarArgv(cfg.Sidecars[2], 6001, "res")
	if argv[len(argv)-2] != "--unix-domain-socket" || argv[len(argv)-1] != cfg.Sidecars[2].UnixDir {
		t.Fatalf("argv %v", argv)
	}
}
