package state

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGetBatcher(t *testing.T) {
	var calls, maxBatch atomic.Int32
	release := make(chan struct{})
	b := NewGetBatcher(1, 64, func(_ context.Context, keys []string) ([]GetResponse, []error) {
		if calls.Add(1) == 1 {
			<-release // hold the first batch so that the others queue
		}
		if n := int32(len(keys)); n > maxBatch.Load() {
			maxBatch.Store(n)
		}
		out := make([]GetResponse, len(keys))
		errs := make([]error, len(keys))
		for i, k := range keys {
			if k == "bad" {
				errs[i] = errors.New("boom")
				continue
			}
			out[i] = GetResponse{Found: true, Data: []byte(k)}
		}
		return out, errs
	})
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]string{}
	for i := range 200 {
		k := strconv.Itoa(i)
		if i == 7 {
			k = "bad"
		}
		wg.Add(1)
		b.Get(k, func(r GetResponse, err error) {
			mu.Lock()
			if err != nil {
				got[k] = "err:" + err.Error()
			} else {
				got[k] = string(r.Data)
			}
			mu.Unlock()
			wg.Done()
		})
	}
	time.Sleep(10 * time.Millisecond)
	close(release)
	wg.Wait()
	if got["bad"] != "err:boom" || got["5"] != "5" || len(got) != 200 {
		t.Fatalf("results: bad=%q 5=%q n=%d", got["bad"], got["5"], len(got))
	}
	if maxBatch.Load() < 2 {
		t.Fatalf("no batching: largest batch %d", maxBatch.Load())
	}
	if maxBatch.Load() > 64 {
		t.Fatalf("batch over max: %d", maxBatch.Load())
	}
	b.Close()
	done := make(chan error, 1)
	b.Get("late", func(_ GetResponse, err error) { done <- err })
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read after Close succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read after Close never completed")
	}
}
