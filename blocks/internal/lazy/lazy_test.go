package lazy

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetriesUntilConnected(t *testing.T) {
	old := MinDelay
	MinDelay = time.Millisecond
	defer func() { MinDelay = old }()
	var n atomic.Int32
	c := New("thing x", func(context.Context) (string, error) {
		if n.Add(1) < 3 {
			return "", errors.New("refused")
		}
		return "conn", nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(); err != nil || v != "conn" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	closed := ""
	if err := c.Close(func(s string) error { closed = s; return nil }); err != nil || closed != "conn" {
		t.Fatalf("Close: %v, closed %q", err, closed)
	}
	if _, err := c.Get(); err == nil || err.Error() != "thing x is closed" {
		t.Fatalf("Get after Close: %v", err)
	}
	_ = c.Close(nil)
}

func TestNotReadyNamesTheComponent(t *testing.T) {
	c := New("binding b", func(ctx context.Context) (int, error) { return 0, errors.New("refused") })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(c.Ready().Error(), "refused") {
		if time.Now().After(deadline) {
			t.Fatalf("Ready: %v", c.Ready())
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.Ready(); err.Error() != "binding b is not ready: refused" {
		t.Fatalf("Ready: %v", err)
	}
	if _, err := c.Get(); err == nil {
		t.Fatal("Get succeeded")
	}
	if err := c.Close(func(int) error { t.Fatal("closed a value never connected"); return nil }); err != nil {
		t.Fatal(err)
	}
}
