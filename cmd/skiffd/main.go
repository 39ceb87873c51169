// Command skiffd is a drop-in replacement for Dapr's daprd sidecar: the same
// HTTP API, flags and component files, served from a gnet event loop.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/skiffd/skiff/blocks/health"
	"github.com/skiffd/skiff/blocks/metadata"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
	"github.com/skiffd/skiff/dataplane/server"
)

// daprVersion is the daprd release whose API skiffd implements; `--version`
// prints it bare because the dapr CLI parses it.
const daprVersion = "1.18.3"

// skiffVersion is skiff's own version, printed by --build-info.
const skiffVersion = "0.1.0"

// gitCommit is set at build time: -ldflags "-X main.gitCommit=…" (make build).
var gitCommit = "unknown"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if o.version {
		fmt.Fprintln(stdout, daprVersion)
		return 0
	}
	if o.buildInfo {
		// daprd's three lines first (tools parse them), then skiff's own.
		commit := gitCommit
		if bi, ok := debug.ReadBuildInfo(); ok && commit == "unknown" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					commit = s.Value
				}
			}
		}
		fmt.Fprintf(stdout, "Version: %s\nGit Commit: %s\nGit Version: skiff-%s\n", daprVersion, commit, skiffVersion)
		fmt.Fprintf(stdout, "Skiff Version: %s\nGo Version: %s %s/%s\n", skiffVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	log := newLogger(o, stderr)
	rt, err := build(o, log)
	if err != nil {
		log.Error("skiffd cannot start: " + err.Error())
		return 1
	}
	if err := rt.serve(); err != nil {
		log.Error(err.Error())
		return 1
	}
	return 0
}

func newLogger(o *options, w io.Writer) *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(o.logLevel) {
	case "debug":
		lvl = slog.LevelDebug
	case "warn", "warning":
		lvl = slog.LevelWarn
	case "error", "fatal":
		lvl = slog.LevelError
	default:
		lvl = slog.LevelInfo
	}
	hopts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if o.logAsJSON {
		h = slog.NewJSONHandler(w, hopts)
	} else {
		h = slog.NewTextHandler(w, hopts)
	}
	l := slog.New(h).With("app_id", o.appID, "scope", "skiffd")
	slog.SetDefault(l)
	return l
}

// runtimeState is a started-up sidecar, before and while it serves.
type runtimeState struct {
	o        *options
	log      *slog.Logger
	srv      *server.Server
	health   *health.Health
	comps    *componentSet
	env      *blockEnv
	appPort  int
	appProbe func(context.Context) error
	shutdown chan struct{}
	sockPath string
	red      redirectState
	obs      *observability
	remote   *remoteState
}

func build(o *options, log *slog.Logger) (*runtimeState, error) {
	if o.mode != "standalone" {
		return nil, fmt.Errorf("--mode %s: skiffd runs in standalone mode only", o.mode)
	}
	if o.appProtocol != "http" || o.appSSL {
		return nil, fmt.Errorf("--app-protocol %s: only http is supported so far (grpc comes with the gRPC API)", o.appProtocol)
	}
	maxBody, err := parseQuantity(o.maxBodySize)
	if err != nil {
		return nil, fmt.Errorf("--max-body-size: %w", err)
	}
	if o.set["dapr-http-max-request-size"] && !o.set["max-body-size"] {
		maxBody = int64(o.legacyMaxRequestMB) << 20
	}
	maxHead, err := parseQuantity(o.readBufferSize)
	if err != nil {
		return nil, fmt.Errorf("--read-buffer-size: %w", err)
	}
	if o.set["dapr-http-read-buffer-size"] && !o.set["read-buffer-size"] {
		maxHead = int64(o.legacyReadBufferKB) << 10
	}
	headTimeout, err := time.ParseDuration(o.headTimeout)
	if err != nil {
		return nil, fmt.Errorf("--skiff-head-timeout: %w", err)
	}
	appPort := 0
	if o.appPort != "" {
		if appPort, err = strconv.Atoi(o.appPort); err != nil || appPort <= 0 || appPort > 65535 {
			return nil, fmt.Errorf("--app-port %q: not a port", o.appPort)
		}
	}
	warnUnbuilt(o, log)

	set := &resources.Set{}
	if len(o.resourcesPath) > 0 {
		if set, err = resources.Load(o.resourcesPath, o.appID); err != nil {
			return nil, err
		}
		for _, w := range set.Warnings {
			log.Warn(w)
		}
		for _, s := range set.Skipped {
			log.Info(s)
		}
	}
	conf, err := resources.LoadConfigurations(o.config)
	if err != nil {
		return nil, err
	}
	aclList, err := compileACL(conf, log)
	if err != nil {
		return nil, err
	}
	obs, err := newObservability(o, conf, log)
	if err != nil {
		return nil, err
	}
	res, err := newResiliency(o, set, obs.metrics, log)
	if err != nil {
		return nil, err
	}
	tracer, err := newTracer(o.appID, conf, log)
	if err != nil {
		return nil, err
	}
	if len(set.HTTPEndpoints) > 0 {
		log.Warn("HTTPEndpoint resources are read but not applied yet")
	}
	remote, err := newRemote(o, conf, aclList, res, obs.metrics, maxBody, log)
	if err != nil {
		return nil, err
	}
	comps, err := buildComponents(o, set, obs.metrics, log)
	if err != nil {
		return nil, err
	}

	rt := &runtimeState{o: o, log: log, comps: comps, appPort: appPort, shutdown: make(chan struct{}), obs: obs, remote: remote}
	rt.env = &blockEnv{o: o, appPort: appPort, maxBody: maxBody, namespace: os.Getenv("NAMESPACE"), set: set, conf: conf, log: log, res: res, tracer: tracer, remote: remote.remote}
	rt.health = health.New(o.appID)
	for _, f := range comps.ready {
		rt.health.AddCheck(f)
	}

	table := router.New()
	if err := rt.registerRoutes(table, appPort, maxBody); err != nil {
		comps.close()
		return nil, err
	}
	if err := remote.bind(comps.invoker); err != nil {
		comps.close()
		return nil, err
	}
	obs.observeAppChannel(comps.channel)

	addrs, sock, err := listenAddrs(o)
	if err != nil {
		comps.close()
		return nil, err
	}
	rt.sockPath = sock
	scfg := server.Config{
		Addrs:       addrs,
		Table:       table,
		MaxHeadSize: int(maxHead),
		MaxBodySize: maxBody,
		HeadTimeout: headTimeout,
		APIToken:    os.Getenv("DAPR_API_TOKEN"),
		Logger:      log,
		APILogging:  o.enableAPILogging,
		Loops:       o.eventLoops,
		AppChannel:  comps.channel,
	}
	obs.serverConfig(&scfg)
	withTracer(tracer, &scfg, comps)
	rt.srv = server.New(scfg)
	obs.watch(rt.srv)
	return rt, nil
}

func (rt *runtimeState) registerRoutes(t *router.Table, appPort int, maxBody int64) error {
	o := rt.o
	md := metadata.New(metadata.Info{
		AppID:          o.appID,
		RuntimeVersion: daprVersion,
		Components:     rt.comps.metadata(),
		App: metadata.AppConnection{
			Port:           appPort,
			Protocol:       o.appProtocol,
			ChannelAddress: o.appChannelAddress,
			MaxConcurrency: o.appMaxConcurrency,
			Health:         appHealthMetadata(o),
		},
	})
	md.Subscriptions = rt.comps.pubsubSubscriptions
	md.Extra = rt.red.extra
	md.AppHealthStatus = rt.comps.appHealthStatus
	var routes []router.Route
	routes = append(routes, rt.health.Routes()...)
	routes = append(routes, md.Routes()...)
	routes = append(routes, router.Route{
		Name: "shutdown", Methods: []http1.Method{http1.MethodPost}, Pattern: "/v1.0/shutdown",
		Mode: router.Inline, Handler: rt.shutdownHandler,
	})
	blockRoutes, err := rt.comps.routes(rt.env, t, &rt.appProbe)
	if err != nil {
		return err
	}
	routes = append(routes, blockRoutes...)
	routes = append(routes, unimplementedRoutes(blockRoutes)...)
	if !rt.obs.invocationAllowed() {
		t.Intercept, t.Fallback = nil, nil
	}
	for _, r := range routes {
		if !rt.obs.apiAllowed(r) {
			continue
		}
		if err := t.Add(r); err != nil {
			return err
		}
	}
	return nil
}

// listenAddrs turns daprd's listen flags into gnet addresses.
func listenAddrs(o *options) ([]string, string, error) {
	if o.unixDomainSocket != "" {
		id := o.appID
		if id == "" {
			id = "skiffd"
		}
		p := filepath.Join(o.unixDomainSocket, "dapr-http-"+id+".socket")
		// A socket file left by a killed run would make the bind fail.
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(p)
		}
		return []string{"unix://" + p}, p, nil
	}
	port, err := strconv.Atoi(o.daprHTTPPort)
	if err != nil || port <= 0 || port > 65535 {
		return nil, "", fmt.Errorf("--dapr-http-port %q: not a port", o.daprHTTPPort)
	}
	if strings.TrimSpace(o.listenAddresses) == "" {
		return []string{"tcp://:" + o.daprHTTPPort}, "", nil
	}
	var addrs []string
	for _, a := range strings.Split(o.listenAddresses, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		host := strings.Trim(a, "[]")
		ip := net.ParseIP(host)
		switch {
		case ip != nil && ip.To4() == nil:
			addrs = append(addrs, "tcp6://"+net.JoinHostPort(host, o.daprHTTPPort))
		case ip != nil:
			addrs = append(addrs, "tcp4://"+net.JoinHostPort(host, o.daprHTTPPort))
		case host == "localhost":
			addrs = append(addrs, "tcp4://127.0.0.1:"+o.daprHTTPPort)
		default:
			return nil, "", fmt.Errorf("--dapr-listen-addresses: %q is not an IP address", a)
		}
	}
	return addrs, "", nil
}

// warnUnbuilt prints one line per given flag whose feature skiffd lacks.
func warnUnbuilt(o *options, log *slog.Logger) {
	warn := func(flag, why string) { log.Warn("--" + flag + ": " + why) }
	// daprd always serves gRPC on --dapr-grpc-port, so say it every time.
	warn("dapr-grpc-port", "the gRPC API is not implemented yet; only the HTTP API is served")
	for _, f := range []string{"dapr-public-port", "dapr-public-listen-address",
		"placement-host-address", "scheduler-host-address", "sentry-address", "control-plane-address",
		"dapr-block-shutdown-duration", "app-health-port"} {
		if o.set[f] {
			warn(f, "accepted, but its feature is not implemented yet")
		}
	}
	if o.enableMTLS {
		warn("enable-mtls", "mTLS between sidecars is not implemented yet")
	}
}

func (rt *runtimeState) shutdownHandler(c *router.Ctx) {
	select {
	case <-rt.shutdown:
	default:
		close(rt.shutdown)
	}
	c.SetStatus(204)
}

// serve runs the sidecar until a signal or POST /v1.0/shutdown.
func (rt *runtimeState) serve() error {
	// Signals are caught before healthz can say ready: a SIGTERM that
	// arrives right after must shut down gracefully, not kill the process.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	o, log := rt.o, rt.log
	if err := rt.red.start(o, rt.appPort, log); err != nil {
		rt.comps.close()
		return err
	}
	defer rt.red.stop(log)
	rt.red.registerMetrics(rt.obs.metrics)
	errc := make(chan error, 1)
	go func() { errc <- rt.srv.Serve() }()
	select {
	case <-rt.srv.Booted():
	case err := <-errc:
		rt.comps.close()
		return err
	}
	log.Info("HTTP API listening", "port", o.daprHTTPPort, "socket", rt.sockPath)
	rt.remote.start(o.appID, errc)
	if o.enableProfiling {
		go serveProfiling(o.profilePort, log)
	}
	rt.health.SetOutboundReady(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if rt.appPort != 0 && rt.appProbe != nil {
		go rt.waitForApp(ctx)
	} else {
		rt.startBlocks(ctx)
		rt.health.SetReady(true)
		log.Info("skiffd is ready (no --app-port)")
	}

	select {
	case s := <-sig:
		log.Info("received signal, shutting down", "signal", s.String())
	case <-rt.shutdown:
		log.Info("shutdown requested through the API")
	case err := <-errc:
		rt.comps.close()
		return err
	}
	rt.health.SetReady(false)
	grace := time.Duration(o.gracefulShutdownSecs) * time.Second
	sctx, scancel := context.WithTimeout(context.Background(), grace)
	defer scancel()
	rt.remote.stop(sctx)
	if err := rt.srv.Shutdown(sctx); err != nil {
		log.Warn(err.Error())
	}
	<-rt.srv.Stopped()
	rt.comps.close()
	if rt.sockPath != "" {
		_ = os.Remove(rt.sockPath)
	}
	log.Info("skiffd stopped")
	return nil
}

// waitForApp marks the sidecar ready once the app's port answers, as daprd
// waits for the app before reporting healthy.
func (rt *runtimeState) waitForApp(ctx context.Context) {
	rt.log.Info("waiting for the app to listen", "port", rt.appPort)
	delay := 5 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := rt.appProbe(pctx)
		cancel()
		if err == nil {
			rt.startBlocks(ctx)
			rt.health.SetReady(true)
			rt.log.Info("app is listening; skiffd is ready", "port", rt.appPort)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

// startBlocks starts the blocks' background work (subscriptions, input
// bindings); a failure asks for shutdown, as daprd exits when it cannot
// subscribe.
func (rt *runtimeState) startBlocks(ctx context.Context) {
	if err := rt.comps.start(ctx, rt.env); err != nil {
		rt.log.Error("skiffd cannot start its building blocks: " + err.Error())
		select {
		case <-rt.shutdown:
		default:
			close(rt.shutdown)
		}
	}
}

func serveProfiling(port string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("profiling server listening", "port", port)
	if err := srv.ListenAndServe(); err != nil {
		log.Warn("profiling server: " + err.Error())
	}
}
