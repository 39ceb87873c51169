package apphealth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/skiffd/skiff/dataplane/appchannel"
)

// Doer is the app channel (*appchannel.Client).
type Doer interface {
	Do(ctx context.Context, req *appchannel.Request, resp *appchannel.Response) error
}

// Config is daprd's app health settings.
type Config struct {
	Path      string        // --app-health-check-path
	Interval  time.Duration // --app-health-probe-interval
	Timeout   time.Duration // --app-health-probe-timeout
	Threshold int           // --app-health-threshold
}

// Validate refuses settings daprd refuses.
func (c Config) Validate() error {
	switch {
	case c.Interval <= 0:
		return errors.New("apphealth: probe interval must be larger than 0")
	case c.Timeout <= 0:
		return errors.New("apphealth: probe timeout must be larger than 0")
	case c.Timeout > c.Interval:
		return errors.New("apphealth: app health checks probe timeouts must be smaller than probe intervals")
	case c.Threshold < 1:
		return errors.New("apphealth: the threshold must be at least 1")
	case len(c.Path) == 0 || c.Path[0] != '/':
		return fmt.Errorf("apphealth: health check path %q must start with '/'", c.Path)
	}
	return nil
}

// Monitor holds the app's health status.
type Monitor struct {
	cfg Config
	app Doer
	log *slog.Logger

	mu       sync.Mutex
	failures int
	healthy  bool
	// wake is closed when the app becomes healthy and replaced when it
	// becomes unhealthy: Wait blocks on it.
	wake chan struct{}
	// OnChange, when set before Run, is called (on the probe goroutine)
	// after each status change.
	OnChange func(healthy bool)
}

// New returns a Monitor that starts unhealthy, as daprd's does.
func New(cfg Config, app Doer, log *slog.Logger) *Monitor {
	if log == nil {
		log = slog.Default()
	}
	return &Monitor{cfg: cfg, app: app, log: log, failures: cfg.Threshold, wake: make(chan struct{})}
}

// Healthy reports the current status; nil-safe (no monitor: healthy).
func (m *Monitor) Healthy() bool {
	if m == nil {
		return true
	}
	m.mu.Lock()
	h := m.healthy
	m.mu.Unlock()
	return h
}

// Wait returns once the app is healthy, or ctx's error.
func (m *Monitor) Wait(ctx context.Context) error {
	m.mu.Lock()
	if m.healthy {
		m.mu.Unlock()
		return nil
	}
	w := m.wake
	m.mu.Unlock()
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Report records one probe result with daprd's rules: a success resets the
// failure count (healthy at once); threshold consecutive failures make the
// app unhealthy.
func (m *Monitor) Report(ok bool) {
	m.mu.Lock()
	changed := false
	if ok {
		m.failures = 0
		if !m.healthy {
			m.healthy, changed = true, true
			close(m.wake)
		}
	} else {
		if m.failures < m.cfg.Threshold {
			m.failures++
		}
		if m.healthy && m.failures >= m.cfg.Threshold {
			m.healthy, changed = false, true
			m.wake = make(chan struct{})
		}
	}
	healthy, failures := m.healthy, m.failures
	m.mu.Unlock()
	if !changed {
		return
	}
	if healthy {
		m.log.Info("App entered healthy status")
	} else {
		m.log.Warn(fmt.Sprintf("App entered un-healthy status: App health check failed %d times", failures))
	}
	if m.OnChange != nil {
		m.OnChange(healthy)
	}
}

// Run probes the app every interval until ctx ends; the first probe goes
// out at once so that deliveries do not wait a whole interval at startup.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		m.Report(m.Probe(ctx) == nil)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Probe sends one GET of the health path; nil means a 2xx answer.
func (m *Monitor) Probe(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	req := appchannel.Request{Method: []byte("GET"), Path: []byte(m.cfg.Path)}
	var resp appchannel.Response
	if err := m.app.Do(pctx, &req, &resp); err != nil {
		return fmt.Errorf("apphealth: probe: %w", err)
	}
	status := resp.Status
	resp.Close()
	if status < 200 || status > 299 {
		return fmt.Errorf("apphealth: probe: status %d", status)
	}
	return nil
}

// Gate is an app channel whose calls wait for the app to be healthy.
type Gate struct {
	App     Doer
	Monitor *Monitor
}

// Do waits until the app is healthy, then calls it.
func (g *Gate) Do(ctx context.Context, req *appchannel.Request, resp *appchannel.Response) error {
	if err := g.Monitor.Wait(ctx); err != nil {
		return fmt.Errorf("apphealth: waiting for the app to be healthy: %w", err)
	}
	return g.App.Do(ctx, req, resp)
}
