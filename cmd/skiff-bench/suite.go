package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiffd/skiff/bench/proc"
	"github.com/skiffd/skiff/bench/suite"
)

func suiteCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	skiffd := fs.String("skiffd", "bin/skiffd", "skiffd binary (empty to skip)")
	daprd := fs.String("daprd", "", "daprd binary to measure the same way (optional)")
	skiffdArgs := fs.String("skiffd-args", "", "extra arguments for skiffd, space-separated")
	daprdArgs := fs.String("daprd-args", "", "extra arguments for daprd, space-separated")
	app := fs.String("app", "", "bench app binary (default: skiff-benchapp beside this binary, else bin/skiff-benchapp)")
	appPort := fs.Int("app-port", 6001, "bench app port")
	conns := fs.String("conns", "1,64", "connection counts")
	scen := fs.String("scenarios", "", "comma-separated scenarios (default all: healthz,state-save,state-get,redis-state-save,redis-state-get,pg-state-save,pg-state-get,invoke,publish,direct)")
	backends := fs.Bool("backends", true, "include the Redis and PostgreSQL scenarios in the default set (services from .ci/services.sh)")
	dur := fs.Duration("duration", 10*time.Second, "measured duration of each run")
	warm := fs.Duration("warmup", time.Second, "warm-up before each run")
	repeat := fs.Int("repeat", 3, "rounds (interleaved); medians are reported")
	starts := fs.Int("starts", 5, "startup-time samples per sidecar")
	out := fs.String("out", "bench/out", "output directory")
	genCPU := fs.String("gen-cpu", "1", "CPUs for the load generator ('none' to leave it unpinned)")
	sideCPU := fs.String("sidecar-cpu", "", "CPUs for the sidecars (default: all)")
	appCPU := fs.String("app-cpu", "", "CPUs for the app (default: all)")
	variants := fs.String("skiffd-variants", "tcp,ebpf,uds", "how skiffd is measured, side by side: tcp (plain TCP, --ebpf-redirect off: the baseline), ebpf (--ebpf-redirect on, needs root; its own app on --app-port+10), uds (--unix-domain-socket)")
	quick := fs.Bool("quick", false, "smoke test: --duration 1s --warmup 200ms --repeat 1 --starts 1")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := suite.Config{
		AppPort: *appPort, Backends: *backends, Duration: *dur, Warmup: *warm, Repeat: *repeat, Starts: *starts, OutDir: *out, Log: os.Stdout,
	}
	if *quick {
		cfg.Duration, cfg.Warmup, cfg.Repeat, cfg.Starts = time.Second, 200*time.Millisecond, 1, 1
	}
	if *skiffd != "" {
		extra := strings.Fields(*skiffdArgs)
		for _, v := range strings.Split(*variants, ",") {
			switch strings.TrimSpace(v) {
			case "tcp":
				cfg.Sidecars = append(cfg.Sidecars, suite.Sidecar{Name: "skiffd", Binary: *skiffd, Args: append([]string{"--ebpf-redirect", "off"}, extra...)})
			case "ebpf":
				if os.Geteuid() != 0 {
					fmt.Println("!!! skiffd+ebpf left out: the eBPF shortcut needs root (CAP_BPF and CAP_NET_ADMIN); run the suite as root to measure it")
					continue
				}
				cfg.Sidecars = append(cfg.Sidecars, suite.Sidecar{Name: "skiffd+ebpf", Binary: *skiffd, AppPort: *appPort + 10, Args: append([]string{"--ebpf-redirect", "on"}, extra...)})
			case "uds":
				dir, err := filepath.Abs(filepath.Join(*out, "uds"))
				if err != nil {
					return fmt.Errorf("suite: %w", err)
				}
				cfg.Sidecars = append(cfg.Sidecars, suite.Sidecar{Name: "skiffd+uds", Binary: *skiffd, UnixDir: dir, Args: append([]string{"--ebpf-redirect", "off"}, extra...)})
			case "":
			default:
				return fmt.Errorf("suite: unknown --skiffd-variants entry %q (tcp, ebpf, uds)", v)
			}
		}
	}
	if *daprd != "" {
		cfg.Sidecars = append(cfg.Sidecars, suite.Sidecar{Name: "daprd", Binary: *daprd, Args: strings.Fields(*daprdArgs)})
	}
	if len(cfg.Sidecars) == 0 {
		return errors.New("suite: no sidecar to measure (--skiffd, --daprd)")
	}
	for _, s := range cfg.Sidecars {
		if _, err := os.Stat(s.Binary); err != nil {
			return fmt.Errorf("suite: %s: %w", s.Name, err)
		}
	}
	cfg.AppBinary = *app
	if cfg.AppBinary == "" {
		cfg.AppBinary = "bin/skiff-benchapp"
		if self, err := os.Executable(); err == nil {
			if p := filepath.Join(filepath.Dir(self), "skiff-benchapp"); fileExists(p) {
				cfg.AppBinary = p
			}
		}
	}
	for _, c := range strings.Split(*conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n <= 0 {
			return fmt.Errorf("suite: bad --conns %q", *conns)
		}
		cfg.Conns = append(cfg.Conns, n)
	}
	if *scen != "" {
		cfg.Scenarios = strings.Split(*scen, ",")
	}
	var err error
	if *genCPU != "none" && *genCPU != "" {
		if cfg.GenCPUs, err = proc.ParseCPUList(*genCPU); err != nil {
			return fmt.Errorf("suite: --gen-cpu: %w", err)
		}
		if max := proc.AllCPUs(); cfg.GenCPUs[len(cfg.GenCPUs)-1] > max[len(max)-1] {
			fmt.Printf("!!! no CPU %s on this machine: the load generator stays unpinned\n", *genCPU)
			cfg.GenCPUs = nil
		}
	}
	if cfg.SidecarCPUs, err = proc.ParseCPUList(*sideCPU); err != nil {
		return fmt.Errorf("suite: --sidecar-cpu: %w", err)
	}
	if cfg.AppCPUs, err = proc.ParseCPUList(*appCPU); err != nil {
		return fmt.Errorf("suite: --app-cpu: %w", err)
	}

	rep, err := suite.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.Write(cfg.OutDir); err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(rep.Markdown())
	fmt.Printf("\nwrote %s/results.json, results.md, latency.svg\n", cfg.OutDir)
	if len(rep.Warnings) > 0 {
		fmt.Printf("\n!!! %d WARNING(S), listed in the report above\n", len(rep.Warnings))
	}
	return nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
