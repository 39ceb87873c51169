package suite

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/skiffd/skiff/bench/loadgen"
)

// Delivery is what the app counted for a publish run.
type Delivery struct {
	// Accepted is the number of publishes answered 2xx in the measured
	// window: each one must reach the app.
	Accepted int64 `json:"accepted"`
	// InWindow is what the app had counted when the window closed.
	InWindow int64 `json:"delivered_in_window"`
	// Delivered is what the app counted once delivery stopped progressing
	// (or reached Accepted).
	Delivered int64 `json:"delivered"`
	// DrainS is how long after the window the last delivery came.
	DrainS float64 `json:"drain_s"`
	// DeliveredRate is Delivered over the window plus the drain time.
	DeliveredRate float64 `json:"delivered_per_s"`
}

// measureDeliveries runs a publish scenario: an unmeasured warm-up run
// whose deliveries are left to drain, then the app's counter is reset and
// the measured run (no warm-up of its own) publishes; afterwards it waits
// until the app counted every accepted publish, or until the count stops
// moving for 10 s.
func measureDeliveries(ctx context.Context, sc Scenario, t loadgen.Target, pid, backend, conns, appPort int, cfg Config) (*loadgen.Result, *Delivery, error) {
	t.Path = sc.Path
	req := loadgen.Request{Method: sc.Method, Path: sc.Path, Host: t.Host, Body: []byte(sc.Body),
		Header: []loadgen.Header{{Name: "Content-Type", Value: "application/json"}}}
	if cfg.Warmup > 0 {
		if _, err := loadgen.Run(ctx, loadgen.Config{Label: sc.Name + " warm-up", Target: t, Request: req.Encode(), Conns: conns, Duration: cfg.Warmup}); err != nil {
			return nil, nil, err
		}
		if _, err := waitCount(ctx, appPort, -1, 500*time.Millisecond); err != nil {
			return nil, nil, err
		}
	}
	if err := appRequest(ctx, appPort, "DELETE", "/count"); err != nil {
		return nil, nil, err
	}
	res, err := loadgen.Run(ctx, loadgen.Config{
		Label: sc.Name, Target: t, Request: req.Encode(), Conns: conns,
		Duration: cfg.Duration, PID: pid, BackendPID: backend,
	})
	if err != nil {
		return nil, nil, err
	}
	end := time.Now()
	d := &Delivery{}
	for code, n := range res.Statuses {
		if code >= 200 && code <= 299 {
			d.Accepted += n
		}
	}
	if d.InWindow, err = count(ctx, appPort); err != nil {
		return nil, nil, err
	}
	last, err := waitCount(ctx, appPort, d.Accepted, 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	d.Delivered = last.n
	d.DrainS = max(0, last.at.Sub(end).Seconds())
	d.DeliveredRate = float64(d.Delivered) / (res.Duration + d.DrainS)
	return res, d, nil
}

type countAt struct {
	n  int64
	at time.Time
}

// waitCount polls the app's counter until it reaches want (want < 0: until
// it stops moving) or does not move for idle; it returns the last count and
// when it last changed.
func waitCount(ctx context.Context, appPort int, want int64, idle time.Duration) (countAt, error) {
	last := countAt{n: -1, at: time.Now()}
	for {
		n, err := count(ctx, appPort)
		if err != nil {
			return last, err
		}
		if n != last.n {
			last = countAt{n: n, at: time.Now()}
		}
		if want >= 0 && n >= want || time.Since(last.at) > idle {
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func count(ctx context.Context, appPort int) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://127.0.0.1:%d/count", appPort), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("app counter: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("app counter: %q: %w", b, err)
	}
	return n, nil
}

func appRequest(ctx context.Context, appPort int, method, path string) error {
	req, err := http.NewRequestWithContext(ctx, method, fmt.Sprintf("http://127.0.0.1:%d%s", appPort, path), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("app %s %s: %w", method, path, err)
	}
	resp.Body.Close()
	return nil
}
