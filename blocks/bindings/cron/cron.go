package cron

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	robfig "github.com/robfig/cron/v3"

	"github.com/skiffd/skiff/blocks/bindings"
)

// Parser is the schedule parser Dapr's cron binding uses.
var Parser = robfig.NewParser(robfig.SecondOptional | robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow | robfig.Descriptor)

// Binding is one cron input binding.
type Binding struct {
	name     string
	schedule string

	mu      sync.Mutex
	closed  bool
	stopped chan struct{}
	crons   []*robfig.Cron
}

// New checks the schedule metadata.
func New(name string, md map[string]string) (*Binding, error) {
	s, _ := bindings.Lookup(md, "schedule")
	if s == "" {
		return nil, errors.New("schedule not set")
	}
	if _, err := Parser.Parse(s); err != nil {
		return nil, fmt.Errorf("invalid schedule format '%s': %w", s, err)
	}
	return &Binding{name: name, schedule: s, stopped: make(chan struct{})}, nil
}

// Read implements bindings.Input.
func (b *Binding) Read(ctx context.Context, h bindings.Handler) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("binding is closed")
	}
	c := robfig.New(robfig.WithParser(Parser))
	if _, err := c.AddFunc(b.schedule, func() {
		// Errors are the app's; Dapr's cron binding ignores them too.
		_, _ = h(ctx, &bindings.ReadResponse{Metadata: map[string]string{
			"timeZone":    c.Location().String(),
			"readTimeUTC": time.Now().UTC().String(),
		}})
	}); err != nil {
		return fmt.Errorf("name: %s, error scheduling %s: %w", b.name, b.schedule, err)
	}
	c.Start()
	b.crons = append(b.crons, c)
	go func() {
		select {
		case <-ctx.Done():
		case <-b.stopped:
		}
		<-c.Stop().Done()
	}()
	return nil
}

// Close implements bindings.Input: no firing starts after it returns.
func (b *Binding) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.stopped)
		for _, c := range b.crons {
			c.Stop()
		}
	}
	return nil
}
