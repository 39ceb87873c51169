// Command skiff-benchapp is the tiny application the benchmark puts behind
// the sidecar: the same shape as the app used to measure daprd (plain
// net/http, so its cost is comparable across sidecars).
//
//	POST /neworder     200 {"orderId":…,"status":"accepted"}
//	GET  /dapr/subscribe   [] (or the orders subscription with --subscribe)
//	GET  /dapr/config      {}
//	POST /orders       counts a delivered event, 200 {"status":"SUCCESS"}
//	GET  /count        the number of events counted
//	DELETE /count      resets the counter
//	GET  /healthz      204
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	port := flag.Int("port", 6001, "listen port")
	addr := flag.String("addr", "127.0.0.1", "listen address")
	subscribe := flag.Bool("subscribe", false, "answer /dapr/subscribe with topic orders on pubsub \"pubsub\" routed to /orders")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, net.JoinHostPort(*addr, fmt.Sprint(*port)), *subscribe); err != nil {
		fmt.Fprintln(os.Stderr, "skiff-benchapp:", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, addr string, subscribe bool) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := &http.Server{Handler: newApp(subscribe).routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	fmt.Printf("skiff-benchapp listening on %s\n", addr)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
