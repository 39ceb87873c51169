package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// options mirrors daprd's command line: same names, same defaults. Flags of
// features skiff does not have yet are accepted and reported by warnUnbuilt.
type options struct {
	appID                string
	appPort              string
	appProtocol          string
	appChannelAddress    string
	appMaxConcurrency    int
	appHealthCheck       bool
	appHealthCheckPath   string
	appHealthInterval    int
	appHealthTimeout     int
	appHealthThreshold   int
	appHealthPort        string
	appSSL               bool
	daprHTTPPort         string
	daprGRPCPort         string
	daprInternalGRPCPort string
	listenAddresses      string
	publicPort           string
	publicListenAddress  string
	metricsPort          string
	metricsListenAddress string
	enableMetrics        bool
	profilePort          string
	enableProfiling      bool
	unixDomainSocket     string
	mode                 string
	resourcesPath        multiFlag
	componentsPath       string
	config               multiFlag
	maxBodySize          string
	readBufferSize       string
	legacyMaxRequestMB   int
	legacyReadBufferKB   int
	allowedOrigins       string
	placementAddress     string
	schedulerAddress     string
	sentryAddress        string
	enableMTLS           bool
	controlPlaneAddress  string
	controlPlaneNS       string
	controlPlaneTrust    string
	disableK8sSecrets    bool
	logLevel             string
	logAsJSON            bool
	enableAPILogging     bool
	gracefulShutdownSecs int
	blockShutdown        string
	wait                 bool
	version              bool
	buildInfo            bool

	// skiff's own
	headTimeout  string
	eventLoops   int
	ebpfRedirect string

	set map[string]bool // flags given on the command line
}

// multiFlag is a repeatable string flag (daprd's stringSliceFlag).
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	if v != "" {
		*m = append(*m, v)
	}
	return nil
}

func parseFlags(args []string, out io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("skiffd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.appID, "app-id", "", "A unique ID for the app. Used for service discovery, state key prefixes and pub/sub consumer ID")
	fs.StringVar(&o.appPort, "app-port", "", "The port the application is listening on")
	fs.StringVar(&o.appProtocol, "app-protocol", "http", "Protocol for the application: http (grpc, grpcs, https, h2c not yet)")
	fs.StringVar(&o.appChannelAddress, "app-channel-address", "127.0.0.1", "The network address the application listens on")
	fs.IntVar(&o.appMaxConcurrency, "app-max-concurrency", -1, "Concurrency limit for calls to the app; -1 for no limit")
	fs.BoolVar(&o.appHealthCheck, "enable-app-health-check", false, "Enable health checks for the application")
	fs.StringVar(&o.appHealthCheckPath, "app-health-check-path", "/healthz", "Path used for app health checks; HTTP only")
	fs.IntVar(&o.appHealthInterval, "app-health-probe-interval", 5, "Interval to probe the app's health, in seconds")
	fs.IntVar(&o.appHealthTimeout, "app-health-probe-timeout", 500, "Timeout for app health probes, in milliseconds")
	fs.IntVar(&o.appHealthThreshold, "app-health-threshold", 3, "Consecutive failures for the app to be considered unhealthy")
	fs.StringVar(&o.appHealthPort, "app-health-port", "", "The port of the app's health endpoint")
	fs.BoolVar(&o.appSSL, "app-ssl", false, "Deprecated: use --app-protocol https")
	fs.StringVar(&o.daprHTTPPort, "dapr-http-port", "3500", "HTTP port for the Dapr API")
	fs.StringVar(&o.daprGRPCPort, "dapr-grpc-port", "50001", "gRPC port for the Dapr API")
	fs.StringVar(&o.daprInternalGRPCPort, "dapr-internal-grpc-port", "", "gRPC port for the Dapr internal API")
	fs.StringVar(&o.listenAddresses, "dapr-listen-addresses", "", "One or more addresses for the Dapr API to listen on, comma separated; empty is all addresses")
	fs.StringVar(&o.publicPort, "dapr-public-port", "", "Public port for health and metadata")
	fs.StringVar(&o.publicListenAddress, "dapr-public-listen-address", "", "Address for the public port to listen on")
	fs.StringVar(&o.metricsPort, "metrics-port", "9090", "Port for the metrics server")
	fs.StringVar(&o.metricsListenAddress, "metrics-listen-address", "", "Address for the metrics server")
	fs.BoolVar(&o.enableMetrics, "enable-metrics", true, "Enable Prometheus metrics")
	fs.StringVar(&o.profilePort, "profile-port", "7777", "Port for the profiling server")
	fs.BoolVar(&o.enableProfiling, "enable-profiling", false, "Serve Go pprof on --profile-port")
	fs.StringVar(&o.unixDomainSocket, "unix-domain-socket", "", "Directory for Unix domain sockets; if set, the HTTP API is served on one instead of TCP")
	fs.StringVar(&o.mode, "mode", "standalone", "Runtime mode (standalone)")
	fs.Var(&o.resourcesPath, "resources-path", "Path of a resources directory (repeatable)")
	fs.StringVar(&o.componentsPath, "components-path", "", "Deprecated alias of --resources-path")
	fs.Var(&o.config, "config", "Path of a Configuration file (repeatable)")
	fs.StringVar(&o.maxBodySize, "max-body-size", "4Mi", "Maximum request body size, e.g. 4Mi")
	fs.StringVar(&o.readBufferSize, "read-buffer-size", "4Ki", "Maximum request head size, e.g. 4Ki")
	fs.IntVar(&o.legacyMaxRequestMB, "dapr-http-max-request-size", 0, "Deprecated: use --max-body-size (in MB)")
	fs.IntVar(&o.legacyReadBufferKB, "dapr-http-read-buffer-size", 0, "Deprecated: use --read-buffer-size (in KB)")
	fs.StringVar(&o.allowedOrigins, "allowed-origins", "*", "Allowed HTTP origins")
	fs.StringVar(&o.placementAddress, "placement-host-address", "", "Addresses of the actor placement service")
	fs.StringVar(&o.schedulerAddress, "scheduler-host-address", "", "Addresses of the scheduler service")
	fs.StringVar(&o.sentryAddress, "sentry-address", "", "Address of the Sentry CA")
	fs.BoolVar(&o.enableMTLS, "enable-mtls", false, "Enable mTLS between sidecars")
	fs.StringVar(&o.controlPlaneAddress, "control-plane-address", "", "Address of a Dapr control plane")
	fs.StringVar(&o.controlPlaneNS, "control-plane-namespace", "default", "Namespace of the Dapr control plane")
	fs.StringVar(&o.controlPlaneTrust, "control-plane-trust-domain", "localhost", "Trust domain of the Dapr control plane")
	fs.BoolVar(&o.disableK8sSecrets, "disable-builtin-k8s-secret-store", false, "Disable the built-in Kubernetes secret store")
	fs.StringVar(&o.logLevel, "log-level", "info", "Log level: debug, info, warn, error")
	fs.BoolVar(&o.logAsJSON, "log-as-json", false, "Log as JSON")
	fs.BoolVar(&o.enableAPILogging, "enable-api-logging", false, "Log every API call")
	fs.IntVar(&o.gracefulShutdownSecs, "dapr-graceful-shutdown-seconds", 5, "Graceful shutdown time in seconds")
	fs.StringVar(&o.blockShutdown, "dapr-block-shutdown-duration", "", "Block shutdown until the app reports unhealthy or this long")
	fs.BoolVar(&o.wait, "wait", false, "Wait for Dapr outbound ready")
	fs.BoolVar(&o.version, "version", false, "Print the Dapr runtime version skiffd is compatible with")
	fs.BoolVar(&o.buildInfo, "build-info", false, "Print skiff's build information")
	fs.StringVar(&o.headTimeout, "skiff-head-timeout", "10s", "skiff: close a connection whose request head takes longer than this")
	fs.IntVar(&o.eventLoops, "skiff-event-loops", 0, "skiff: number of event loops (0: one per two CPUs, at least one)")
	redirectFlags(fs, o)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	o.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if o.componentsPath != "" {
		o.resourcesPath = append(o.resourcesPath, o.componentsPath)
	}
	return o, nil
}

// parseQuantity reads a Kubernetes-style quantity as daprd does for
// --max-body-size and --read-buffer-size: "4Mi", "512Ki", "1G", "1000".
func parseQuantity(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1000}, {"K", 1000}, {"M", 1000 * 1000}, {"G", 1000 * 1000 * 1000}} {
		if strings.HasSuffix(s, u.suf) {
			s, mult = strings.TrimSuffix(s, u.suf), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid quantity %q", s)
	}
	return int64(f * float64(mult)), nil
}
