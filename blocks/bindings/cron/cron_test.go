package cron

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/bindings"
)

func TestSchedules(t *testing.T) {
	for _, s := range []string{"@every 1s", "@daily", "@hourly", "@midnight", "@yearly", "0 30 * * * *", "*/5 * * * *", "15 * * * * *", "CRON_TZ=Europe/Paris 0 9 * * MON-FRI", "TZ=UTC @daily"} {
		if _, err := New("c", map[string]string{"schedule": s}); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "every minute", "* * *", "@every", "61 * * * * *", "* * * * * * *"} {
		if _, err := New("c", map[string]string{"Schedule": s}); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestFiresAndStops(t *testing.T) {
	b, err := New("c", map[string]string{"schedule": "@every 1s"})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	got := make(chan map[string]string, 10)
	if err := b.Read(context.Background(), func(_ context.Context, ev *bindings.ReadResponse) ([]byte, error) {
		n.Add(1)
		got <- ev.Metadata
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case md := <-got:
		if md["timeZone"] == "" || md["readTimeUTC"] == "" {
			t.Fatalf("metadata %v", md)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no firing in 20 s")
	}
	_ = b.Close()
	after := n.Load()
	time.Sleep(1500 * time.Millisecond)
	if n.Load() > after+1 { // one firing may have been under way
		t.Fatalf("fired %d times after Close", n.Load()-after)
	}
	if err := b.Read(context.Background(), nil); err == nil {
		t.Fatal("Read after Close")
	}
}
