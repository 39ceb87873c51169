package lifecycle

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestGoEndsOnStopOrContext(t *testing.T) {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	ended := make(chan string, 2)
	Go(&wg, context.Background(), stop, func(ctx context.Context) { <-ctx.Done(); ended <- "stop" })
	ctx, cancel := context.WithCancel(context.Background())
	Go(&wg, ctx, make(chan struct{}), func(ctx context.Context) { <-ctx.Done(); ended <- "ctx" })
	cancel()
	if got := <-ended; got != "ctx" {
		t.Fatalf("first to end: %s", got)
	}
	close(stop)
	if got := <-ended; got != "stop" {
		t.Fatalf("second to end: %s", got)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("goroutines left running")
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), nil, time.Millisecond) {
		t.Fatal("a plain sleep reported an early end")
	}
	stop := make(chan struct{})
	close(stop)
	if Sleep(context.Background(), stop, time.Hour) {
		t.Fatal("a closed stop did not end the sleep")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, nil, time.Hour) {
		t.Fatal("a cancelled context did not end the sleep")
	}
}
