// Command skiff-bench measures an HTTP/1.1 server (a Dapr sidecar, skiffd,
// or the app itself) and runs the skiff benchmark suite.
//
//	skiff-bench [run] [flags] URL...   measure one or more URLs
//	skiff-bench suite [flags]          start app + sidecars, run every scenario
//	skiff-bench serve [flags]          trivial server, to measure the generator
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	args := os.Args[1:]
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && !strings.Contains(args[0], "://") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = runCmd(ctx, args)
	case "suite":
		err = suiteCmd(ctx, args)
	case "serve":
		err = serveCmd(ctx, args)
	case "help", "-h", "--help":
		fmt.Println("usage: skiff-bench [run] [flags] URL... | suite [flags] | serve [flags]; add -h for flags")
		return
	default:
		err = fmt.Errorf("unknown command %q (run, suite, serve)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "skiff-bench:", err)
		os.Exit(1)
	}
}
