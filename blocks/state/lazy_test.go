package state

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type nopStore struct{ closed atomic.Bool }

func (*nopStore) Features() Feature { return FeatureETag }
func (*nopStore) Get(context.Context, *GetRequest) (GetResponse, error) {
	return GetResponse{Found: true, Data: []byte("1")}, nil
}
func (*nopStore) Set(context.Context, *SetRequest) error       { return nil }
func (*nopStore) Delete(context.Context, *DeleteRequest) error { return nil }
func (*nopStore) BulkGet(context.Context, []GetRequest, int) ([]BulkGetItem, error) {
	return nil, nil
}
func (*nopStore) BulkSet(context.Context, []SetRequest) error { return nil }
func (s *nopStore) Close() error                              { s.closed.Store(true); return nil }

func TestLazy(t *testing.T) {
	var up atomic.Bool
	var tries atomic.Int32
	inner := &nopStore{}
	l := NewLazy("db", FeatureETag, func(context.Context) (Store, error) {
		tries.Add(1)
		if !up.Load() {
			return nil, errors.New("connection refused")
		}
		return inner, nil
	})
	deadline := time.Now().Add(10 * time.Second)
	for tries.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no retry")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := l.Ready(); err == nil || !strings.Contains(err.Error(), "state store db is not ready: connection refused") {
		t.Fatalf("Ready: %v", err)
	}
	if _, err := l.Get(context.Background(), &GetRequest{Key: "k"}); err == nil {
		t.Fatal("Get before connecting succeeded")
	}
	up.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := l.Get(context.Background(), &GetRequest{Key: "k"}); err != nil || !r.Found {
		t.Fatalf("%+v %v", r, err)
	}
	if err := l.Multi(context.Background(), &TransactionRequest{}); err == nil {
		t.Fatal("Multi on a non-transactional store succeeded")
	}
	l.Close()
	if !inner.closed.Load() || l.Ready() == nil {
		t.Fatal("Close did not close the store")
	}
}

func TestLazyCloseWhileConnecting(t *testing.T) {
	l := NewLazy("db", 0, func(ctx context.Context) (Store, error) {
		return nil, errors.New("down")
	})
	done := make(chan struct{})
	go func() { l.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung")
	}
}
