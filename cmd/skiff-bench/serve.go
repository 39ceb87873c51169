package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/skiffd/skiff/bench/proc"
	"github.com/skiffd/skiff/bench/sink"
)

// serveCmd runs the trivial sink server used to measure the generator's own
// ceiling.
func serveCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9000", "listen address")
	loops := fs.Int("loops", 1, "event loops")
	cpu := fs.String("cpu", "", "pin the server to these CPUs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpu != "" {
		cpus, err := proc.ParseCPUList(*cpu)
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		if _, err := proc.PinSelf(cpus); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	s, err := sink.Start(*addr, *loops)
	if err != nil {
		return err
	}
	fmt.Printf("sink on %s (%d event loops)\n", *addr, *loops)
	select {
	case <-ctx.Done():
		return s.Stop()
	case err := <-waitErr(s):
		return err
	}
}

func waitErr(s *sink.Server) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- s.Wait() }()
	return ch
}
