package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/skiffd/skiff/bench/proc"
)

// Latencies are recorded in nanoseconds, clamped to 1 µs–60 s, at 3
// significant digits. The histogram's lowest discernible value is 1 ns, not
// 1 µs: with 1 µs the library's unit becomes 512 ns and a 10 µs latency
// would only be known to 5 %.
const (
	histMin  = int64(time.Microsecond)
	histMax  = int64(60 * time.Second)
	histSigs = 3
)

func newHist() *hdr.Histogram { return hdr.New(1, histMax, histSigs) }

// Config is one measurement.
type Config struct {
	Label    string
	Target   Target
	Request  []byte        // pre-encoded request, shared read-only by all connections
	Conns    int           // connections, default 1
	Duration time.Duration // measured window, default 10 s
	Warmup   time.Duration // unmeasured lead-in
	Rate     float64       // total requests per second; 0 means closed loop
	// Timeout bounds the wait for the last answers once the run is over.
	Timeout time.Duration
	// Engine picks how a closed loop drives its connections: EngineEpoll
	// (the default) or EngineGoroutines. An open loop always uses goroutines.
	Engine string
	// PID, when non-zero, is the process (the sidecar) whose CPU time and
	// memory are sampled over the measured window.
	PID int
	// BackendPID, when non-zero, is a backend server (redis-server,
	// nats-server) sampled the same way: whose CPU a request costs.
	BackendPID int
}

// Engines for a closed loop.
const (
	EngineEpoll      = "epoll"
	EngineGoroutines = "goroutines"
)

// worker is one connection's loop and its private tallies.
type worker struct {
	cfg      *Config
	id       int
	lat      *hdr.Histogram // from intended send (== actual send in closed loop)
	svc      *hdr.Histogram // from actual send; open loop only
	codes    [600]int64
	errs     int64
	errKinds map[string]int64
	late     int64 // open loop: sends that left after their intended time had passed
	unsent   int64 // open loop: sends abandoned when the run overran by Timeout
	lastDone int64 // ns since base of the last recorded answer

	halt *atomic.Bool // set when the run is cancelled
	pace *pacer       // open loop only

	mu  sync.Mutex // guards cl against the stopper
	cl  *client
	off bool
}

// Run performs one measurement. It returns an error only when the run could
// not be made at all; failed requests are counted in the result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if len(cfg.Request) == 0 {
		return nil, errors.New("run: no request")
	}
	open := cfg.Rate > 0
	// Dial everything first so connection set-up is not measured.
	halt := new(atomic.Bool)
	var eng *epollEngine
	useEpoll := !open && cfg.Engine != EngineGoroutines
	if useEpoll {
		w := &worker{cfg: &cfg, lat: newHist(), errKinds: map[string]int64{}, halt: halt}
		var err error
		if eng, err = newEpollEngine(&cfg, w); err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		return runWith(ctx, &cfg, []*worker{w}, eng, halt)
	}
	workers := make([]*worker, cfg.Conns)
	for i := range workers {
		w := &worker{cfg: &cfg, id: i, lat: newHist(), errKinds: map[string]int64{}, halt: halt}
		if open {
			w.svc = newHist()
		}
		c, err := dial(cfg.Target)
		if err != nil {
			for _, w := range workers[:i] {
				w.cl.c.Close()
			}
			return nil, fmt.Errorf("run: %w", err)
		}
		w.cl = newClient(c)
		workers[i] = w
	}
	return runWith(ctx, &cfg, workers, nil, halt)
}

// runWith runs dialled workers (or the epoll engine with its one tally
// worker), samples CPU over the measured window and collects the result.
func runWith(ctx context.Context, cfgp *Config, workers []*worker, eng *epollEngine, halt *atomic.Bool) (*Result, error) {
	cfg := *cfgp
	open := cfg.Rate > 0
	base := time.Now()
	baseMono := monoNow()
	if open {
		for _, w := range workers {
			// Without a timerfd the loop falls back to time.Sleep.
			w.pace, _ = newPacer(baseMono)
		}
	}
	measureStart := int64(cfg.Warmup)
	end := measureStart + int64(cfg.Duration)
	deadline := base.Add(time.Duration(end) + cfg.Timeout)

	var side *proc.Sampler
	if cfg.PID > 0 {
		side = &proc.Sampler{PID: cfg.PID}
	}
	self := &proc.Sampler{PID: os.Getpid()}
	var back *proc.Sampler
	var backErr error
	var backUse proc.Usage
	if cfg.BackendPID > 0 {
		back = &proc.Sampler{PID: cfg.BackendPID}
	}

	var wg sync.WaitGroup
	loopers := workers
	if eng != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			eng.run(base, measureStart, end, deadline, halt)
		}()
		loopers = nil // the engine owns its sockets; workers[0] is its tally only
	}
	for _, w := range loopers {
		w.cl.c.SetDeadline(deadline)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if open {
				w.openLoop(base, measureStart, end, deadline)
			} else {
				w.closedLoop(base, measureStart, end, deadline)
			}
		}()
	}

	// Sample CPU at the edges of the measured window, and stop early on ctx.
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	var sampleErr error
	var sideUse, selfUse proc.Usage
	sleepUntil := func(t int64) bool {
		tm := time.NewTimer(time.Until(base.Add(time.Duration(t))))
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-stopped:
			// Workers only end early when the run is cut short; the
			// samples are still taken.
		case <-ctx.Done():
			return false
		}
		return true
	}
	ok := sleepUntil(measureStart)
	if ok {
		if side != nil {
			sampleErr = side.Begin()
		}
		self.Begin()
		if back != nil {
			backErr = back.Begin()
		}
		ok = sleepUntil(end)
	}
	if ok {
		if side != nil && sampleErr == nil {
			sideUse, sampleErr = side.End()
		}
		if back != nil && backErr == nil {
			backUse, backErr = back.End()
		}
		selfUse, _ = self.End()
	}
	if !ok {
		halt.Store(true)
		for _, w := range loopers {
			w.stop()
		}
	}
	<-stopped
	for _, w := range loopers {
		w.stop()
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("run: %w", ctx.Err())
	}

	res := collect(&cfg, workers)
	if side != nil {
		if sampleErr != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("sidecar sampling: %v", sampleErr))
		} else {
			res.Sidecar = usageOf(cfg.PID, sideUse, res.Requests, cfg.Duration)
		}
	}
	if back != nil {
		if backErr != nil {
			res.Warnings = append(res.Warnings, fmt.Sprintf("backend sampling: %v", backErr))
		} else {
			res.Backend = usageOf(cfg.BackendPID, backUse, res.Requests, cfg.Duration)
		}
	}
	if selfUse.End.Comm != "" {
		res.Generator = usageOf(os.Getpid(), selfUse, res.Requests, cfg.Duration)
		if util := res.Generator.CPUUtil; util > 0.9*float64(gomaxprocs()) {
			res.Warnings = append(res.Warnings, fmt.Sprintf("load generator was CPU-bound (%.0f%% of its %d CPU): the figures may be the generator's limit", util*100, gomaxprocs()))
		}
	}
	return res, nil
}

func dial(t Target) (net.Conn, error) {
	c, err := net.DialTimeout(t.Network, t.Addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial %s %s: %w", t.Network, t.Addr, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return c, nil
}

// stop closes the connection so a blocked read returns.
func (w *worker) stop() {
	w.mu.Lock()
	w.off = true
	if w.pace != nil {
		w.pace.close()
	}
	if w.cl != nil {
		// Only close: the worker owns the field and may still be reading it.
		w.cl.c.Close()
	}
	w.mu.Unlock()
}

// redial replaces a broken connection.
func (w *worker) redial(deadline time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.off {
		return false
	}
	if w.cl != nil {
		w.cl.c.Close()
		w.cl = nil
	}
	c, err := dial(w.cfg.Target)
	if err != nil {
		w.fail(err)
		return false
	}
	c.SetDeadline(deadline)
	w.cl = newClient(c)
	return true
}

func (w *worker) fail(err error) {
	w.errs++
	k := err.Error()
	if len(w.errKinds) < 16 || w.errKinds[k] > 0 {
		w.errKinds[k]++
	}
}

// roundTrip sends the request and reads the answer.
func (w *worker) roundTrip() (int, error) {
	cl := w.cl
	if cl == nil {
		return 0, errors.New("connection closed")
	}
	if err := cl.send(w.cfg.Request); err != nil {
		return 0, err
	}
	status, closeConn, err := cl.readResponse()
	if err != nil {
		return 0, err
	}
	if closeConn {
		return status, errServerClose
	}
	return status, nil
}

var errServerClose = errors.New("server closed the connection")

func (w *worker) closedLoop(base time.Time, measureStart, end int64, deadline time.Time) {
	for {
		start := int64(time.Since(base))
		if start >= end || w.halt.Load() {
			return
		}
		if w.cl == nil && !w.redial(deadline) {
			if !w.pause(base, end) {
				return
			}
			continue
		}
		status, err := w.roundTrip()
		done := int64(time.Since(base))
		if err == errServerClose {
			w.dropConn()
			err = nil
		}
		if start < measureStart {
			if err != nil {
				w.dropConn()
			}
			continue
		}
		if err != nil {
			if done < end || !isTimeout(err) {
				w.fail(err)
			}
			w.dropConn()
			continue
		}
		w.record(w.lat, done-start)
		w.codes[status]++
		w.lastDone = done
	}
}

func (w *worker) openLoop(base time.Time, measureStart, end int64, deadline time.Time) {
	interval := float64(w.cfg.Conns) / w.cfg.Rate * 1e9
	// Stagger connections evenly within one interval.
	k := 0
	first := interval * float64(w.id) / float64(w.cfg.Conns)
	for ; ; k++ {
		intended := int64(first + float64(k)*interval)
		if intended >= end || w.halt.Load() {
			return
		}
		now := int64(time.Since(base))
		if now >= end+int64(w.cfg.Timeout) {
			// Hopelessly behind: stop rather than run on for ever.
			w.unsent = int64(float64(end-intended)/interval) + 1
			return
		}
		if d := intended - now; d > 0 {
			if w.pace == nil {
				sleepFallback(time.Duration(d))
			} else if w.pace.sleepUntil(intended) != nil {
				return // closed by stop
			}
		} else if intended >= measureStart && -d > int64(interval) {
			w.late++
		}
		if w.cl == nil && !w.redial(deadline) {
			// The failed dial is counted as an error; the slot is lost.
			if !w.pause(base, end) {
				return
			}
			continue
		}
		sent := int64(time.Since(base))
		status, err := w.roundTrip()
		done := int64(time.Since(base))
		if err == errServerClose {
			w.dropConn()
			err = nil
		}
		if intended < measureStart {
			if err != nil {
				w.dropConn()
			}
			continue
		}
		if err != nil {
			if done < end || !isTimeout(err) {
				w.fail(err)
			}
			w.dropConn()
			continue
		}
		w.record(w.lat, done-intended)
		w.record(w.svc, done-sent)
		w.codes[status]++
		w.lastDone = done
	}
}

func (w *worker) dropConn() {
	w.mu.Lock()
	if w.cl != nil {
		w.cl.c.Close()
		w.cl = nil
	}
	w.mu.Unlock()
}

// pause waits a little after a failed dial so a dead server does not spin
// the CPU; it reports false once the run is over.
func (w *worker) pause(base time.Time, end int64) bool {
	time.Sleep(10 * time.Millisecond)
	return int64(time.Since(base)) < end
}

func (w *worker) record(h *hdr.Histogram, v int64) {
	if v < histMin {
		v = histMin
	} else if v > histMax {
		v = histMax
	}
	h.RecordValue(v)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
