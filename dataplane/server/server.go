package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/logging"

	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/metrics"
	"github.com/skiffd/skiff/dataplane/router"
)

// Tracing is the tracer's hook into the server (dataplane/tracing).
type Tracing interface {
	// Start runs once the request is routed, before its handler; it returns
	// the span (nil: not traced).
	Start(c *router.Ctx) any
	// Finish runs before the response head is encoded; it may add headers.
	Finish(c *router.Ctx, span any)
}

// Config is what the server needs from the command line.
type Config struct {
	// Addrs are gnet addresses: "tcp://127.0.0.1:3500", "tcp6://[::1]:3500",
	// "unix:///run/skiff.sock".
	Addrs []string
	Table *router.Table
	// MaxHeadSize bounds a request head (daprd's --read-buffer-size).
	MaxHeadSize int
	// MaxBodySize bounds a request body (daprd's --max-body-size).
	MaxBodySize int64
	// StreamThreshold: on Stream routes, a body larger than this (or chunked)
	// reaches the handler as a stream instead of being buffered whole.
	StreamThreshold int
	// HeadTimeout closes a connection whose request head takes longer than
	// this to arrive (slowloris).
	HeadTimeout time.Duration
	// MaxPipeline is how many requests of one connection may be in flight.
	MaxPipeline int
	MaxWorkers  int
	// APIToken, when set, must arrive as dapr-api-token on every route
	// that is not NoAuth.
	APIToken   string
	Logger     *slog.Logger
	APILogging bool
	// APILogger, when set, receives the API log lines instead of Logger
	// (daprd logs API calls at info level whatever --log-level says).
	APILogger *slog.Logger
	// APILogOmitHealth and APILogObfuscate are Configuration
	// spec.logging.apiLogging's omitHealthChecks and obfuscateURLs.
	APILogOmitHealth bool
	APILogObfuscate  bool
	// Metrics, when set, records every answered request (observe.go).
	Metrics *metrics.HTTPServer
	// CORS, when set, answers preflights and adds daprd's CORS headers
	// (cors.go); nil means no CORS headers at all.
	CORS *CORS
	// Loops is the number of event loops; 0 means one per two CPUs (at
	// least one): a sidecar leaves cores to its app, and work that waits
	// runs on the worker pool, which uses every core anyway.
	Loops int
	// Tracing, when set, starts a span per routed request and ends it when
	// the response head is encoded (nil: tracing off, no cost).
	Tracing Tracing
	// AppChannel, when set, is the app the loops may call themselves
	// (router.Ctx.CallApp), with its settings; see appcall.go.
	AppChannel *appchannel.Client
}

func (c *Config) defaults() {
	if c.MaxHeadSize <= 0 {
		c.MaxHeadSize = 4 << 10
	}
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = 4 << 20
	}
	if c.StreamThreshold <= 0 {
		c.StreamThreshold = 64 << 10
	}
	if c.HeadTimeout <= 0 {
		c.HeadTimeout = 10 * time.Second
	}
	if c.MaxPipeline <= 0 {
		c.MaxPipeline = 64
	}
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = 4096
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.APILogger == nil {
		c.APILogger = c.Logger
	}
	if c.Loops <= 0 {
		c.Loops = max(1, runtime.GOMAXPROCS(0)/2)
	}
}

// Server is the HTTP/1.1 data plane: gnet event loops that parse requests in
// place, run Inline handlers on the loop and everything else on a worker pool,
// and write each loop iteration's responses in one write.
type Server struct {
	gnet.BuiltinEventEngine
	cfg   Config
	eng   gnet.Engine
	pool  *workerPool
	token []byte
	timed bool // requests read the clock at start (API logging, metrics)

	date atomic.Pointer[[]byte] // "Date: …\r\n", refreshed every second

	mu    sync.Mutex
	conns map[*conn]struct{}
	wakes wakeLists
	apps  loopApps

	inflight atomic.Int64
	draining atomic.Bool
	booted   chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
	serveErr error
}

// New builds a server; Serve starts it.
func New(cfg Config) *Server {
	cfg.defaults()
	s := &Server{
		cfg:     cfg,
		pool:    newWorkerPool(cfg.MaxWorkers, 64<<10),
		conns:   make(map[*conn]struct{}),
		booted:  make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if cfg.APIToken != "" {
		s.token = []byte(cfg.APIToken)
	}
	s.timed = cfg.APILogging || cfg.Metrics != nil
	s.refreshDate(time.Now())
	return s
}

// Serve runs the event loops until Shutdown; it returns once they stopped.
func (s *Server) Serve() error {
	done := make(chan struct{})
	go s.clock(done)
	defer close(done)
	err := gnet.Rotate(s, s.cfg.Addrs,
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(s.cfg.Loops),
		gnet.WithTicker(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReuseAddr(true),
		gnet.WithLogger(gnetLogger{s.cfg.Logger}),
		gnet.WithLogLevel(logging.ErrorLevel),
	)
	s.stopOnce.Do(func() { close(s.stopped) })
	if err != nil {
		s.serveErr = err
		return fmt.Errorf("serve %s: %w", strings.Join(s.cfg.Addrs, ","), err)
	}
	return nil
}

// Booted is closed once the listeners accept connections.
func (s *Server) Booted() <-chan struct{} { return s.booted }

// Stopped is closed once Serve has returned.
func (s *Server) Stopped() <-chan struct{} { return s.stopped }

// Shutdown stops accepting work, lets requests in flight finish until ctx
// ends, then closes every connection and stops the loops.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			s.cfg.Logger.Warn("shutdown: requests still in flight", "count", s.inflight.Load())
			goto stop
		case <-t.C:
		}
	}
stop:
	select {
	case <-s.booted:
	default:
		return nil
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.eng.Stop(stopCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// InFlight reports requests parsed but not yet answered.
func (s *Server) InFlight() int64 { return s.inflight.Load() }

// OnBoot implements gnet.EventHandler.
func (s *Server) OnBoot(eng gnet.Engine) gnet.Action {
	s.eng = eng
	close(s.booted)
	return gnet.None
}

// OnOpen implements gnet.EventHandler.
func (s *Server) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	if ac, ok := gc.Context().(*appConn); ok {
		ac.onOpen(gc)
		return nil, gnet.None
	}
	cn := &conn{s: s, gc: gc, app: s.loopApp(gc.EventLoop())}
	gc.SetContext(cn)
	s.mu.Lock()
	cn.wl = s.wakeListFor(gc.EventLoop())
	s.conns[cn] = struct{}{}
	s.mu.Unlock()
	return nil, gnet.None
}

// OnClose implements gnet.EventHandler.
func (s *Server) OnClose(gc gnet.Conn, err error) gnet.Action {
	if ac, ok := gc.Context().(*appConn); ok {
		ac.onClose(err)
		return gnet.None
	}
	cn, _ := gc.Context().(*conn)
	if cn == nil {
		return gnet.None
	}
	s.mu.Lock()
	delete(s.conns, cn)
	s.mu.Unlock()
	cn.onClose()
	return gnet.None
}

// OnTraffic implements gnet.EventHandler.
func (s *Server) OnTraffic(gc gnet.Conn) gnet.Action {
	if ac, ok := gc.Context().(*appConn); ok {
		return ac.onTraffic()
	}
	cn, _ := gc.Context().(*conn)
	if cn == nil {
		return gnet.Close
	}
	return cn.onTraffic()
}

// OnTick closes connections that stalled in a request head, and lingering
// connections whose grace period is over.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	now := nanotime()
	limit := int64(s.cfg.HeadTimeout)
	s.mu.Lock()
	for cn := range s.conns {
		if since := cn.headSince.Load(); since != 0 && now-since > limit {
			cn.headSince.Store(0)
			_ = cn.gc.Close()
			continue
		}
		if until := cn.lingerUntil.Load(); until != 0 && now > until {
			cn.lingerUntil.Store(0)
			_ = cn.gc.Close()
		}
	}
	s.mu.Unlock()
	tick := s.cfg.HeadTimeout / 4
	if tick > time.Second {
		tick = time.Second
	}
	return tick, gnet.None
}

func (s *Server) clock(done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			s.refreshDate(now)
		}
	}
}

func (s *Server) refreshDate(now time.Time) {
	b := make([]byte, 0, 40)
	b = append(b, "Date: "...)
	b = http1.AppendHTTPDate(b, now)
	b = append(b, "\r\n"...)
	s.date.Store(&b)
}

var epoch = time.Now()

// nanotime is a monotonic clock reading without allocation.
func nanotime() int64 { return int64(time.Since(epoch)) + 1 }

// gnetLogger sends gnet's own log lines to slog.
type gnetLogger struct{ l *slog.Logger }

func (g gnetLogger) Debugf(f string, a ...any) { g.l.Debug(fmt.Sprintf(f, a...), "src", "gnet") }
func (g gnetLogger) Infof(f string, a ...any)  { g.l.Debug(fmt.Sprintf(f, a...), "src", "gnet") }
func (g gnetLogger) Warnf(f string, a ...any)  { g.l.Warn(fmt.Sprintf(f, a...), "src", "gnet") }
func (g gnetLogger) Errorf(f string, a ...any) { g.l.Error(fmt.Sprintf(f, a...), "src", "gnet") }
func (g gnetLogger) Fatalf(f string, a ...any) { g.l.Error(fmt.Sprintf(f, a...), "src", "gnet") }
