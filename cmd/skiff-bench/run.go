package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/skiffd/skiff/bench/loadgen"
	"github.com/skiffd/skiff/bench/proc"
	"github.com/skiffd/skiff/bench/report"
)

type headerFlags []loadgen.Header

func (h *headerFlags) String() string { return fmt.Sprint(*h) }
func (h *headerFlags) Set(v string) error {
	name, val, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("header %q: want Name: value", v)
	}
	*h = append(*h, loadgen.Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(val)})
	return nil
}

func runCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	conns := fs.Int("c", 1, "connections (each has one request in flight)")
	dur := fs.Duration("d", 10*time.Second, "measured duration")
	warm := fs.Duration("warmup", time.Second, "unmeasured warm-up before the measured window")
	rate := fs.Float64("rate", 0, "open loop: total requests per second (0 = closed loop)")
	method := fs.String("X", "GET", "method")
	body := fs.String("body", "", "request body")
	bodyFile := fs.String("body-file", "", "read the request body from this file")
	var headers headerFlags
	fs.Var(&headers, "H", "request header 'Name: value' (repeatable)")
	pid := fs.Int("pid", 0, "sample this process's CPU time and RSS (the sidecar)")
	jsonOut := fs.String("json", "", "write results as JSON to this file")
	svgOut := fs.String("svg", "", "write a latency percentile plot to this SVG file")
	cpu := fs.String("cpu", "", "pin the generator to these CPUs (e.g. 1) and set GOMAXPROCS to match")
	unixPath := fs.String("unix", "", "dial this Unix socket instead of TCP")
	label := fs.String("label", "", "label for the run (default: the URL)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for answers after the run")
	repeat := fs.Int("repeat", 1, "run each URL this many times, alternating between URLs")
	engine := fs.String("engine", loadgen.EngineEpoll, "closed-loop engine: epoll (one thread, cheapest) or goroutines (one per connection)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	urls := fs.Args()
	if len(urls) == 0 {
		return errors.New("run: no URL")
	}
	if *cpu != "" {
		cpus, err := proc.ParseCPUList(*cpu)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		if _, err := proc.PinSelf(cpus); err != nil {
			return fmt.Errorf("run: %w", err)
		}
	}
	fmt.Printf("load generator: pid %d, %s\n", os.Getpid(), proc.Placement(os.Getpid()))
	if *pid > 0 {
		fmt.Printf("measured process: pid %d, %s\n", *pid, proc.Placement(*pid))
	}
	reqBody := []byte(*body)
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		reqBody = b
	}
	var results []*loadgen.Result
	for round := 0; round < *repeat; round++ {
		for _, u := range urls {
			t, err := loadgen.ParseTarget(u, *unixPath)
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			req := loadgen.Request{Method: *method, Path: t.Path, Host: t.Host, Header: headers, Body: reqBody}
			name := *label
			if name == "" {
				name = u
			}
			if *repeat > 1 {
				name = fmt.Sprintf("%s #%d", name, round+1)
			}
			res, err := loadgen.Run(ctx, loadgen.Config{
				Label: name, Target: t, Request: req.Encode(), Conns: *conns,
				Duration: *dur, Warmup: *warm, Rate: *rate, Timeout: *timeout, PID: *pid, Engine: *engine,
			})
			if err != nil {
				return fmt.Errorf("run %s: %w", u, err)
			}
			res.URL = u
			results = append(results, res)
		}
	}
	if err := report.Table(os.Stdout, results); err != nil {
		return err
	}
	if *jsonOut != "" {
		if err := report.WriteJSON(*jsonOut, results); err != nil {
			return err
		}
	}
	if *svgOut != "" {
		var series []report.Series
		for _, r := range results {
			series = append(series, report.Series{Name: r.Label, Points: r.Curve})
		}
		if err := report.WriteSVGFile(*svgOut, "latency by percentile", series); err != nil {
			return err
		}
	}
	for _, r := range results {
		if r.Errors > 0 {
			return fmt.Errorf("%s: %d requests failed", r.Label, r.Errors)
		}
	}
	return nil
}
