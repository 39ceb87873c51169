package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/bufpool"
	"github.com/skiffd/skiff/dataplane/metrics"
	"github.com/skiffd/skiff/dataplane/router"
	"github.com/skiffd/skiff/dataplane/server"
)

// observability is the wiring of metrics, CORS, the API allow lists and
// API logging: what --enable-metrics, --metrics-port,
// --metrics-listen-address, --allowed-origins, --enable-api-logging and
// Configuration spec.metric, spec.api and spec.logging ask for.
type observability struct {
	log     *slog.Logger
	metrics *metrics.Metrics
	cors    *server.CORS
	allowed []resources.APIAccessRule // HTTP rules only
	denied  []resources.APIAccessRule

	apiLogging   bool
	apiLogger    *slog.Logger
	omitHealth   bool
	obfuscateURL bool
}

// newObservability reads the flags and the merged Configuration and, when
// metrics are on, starts the /metrics server (a plain net/http server, off
// the event loops). A port that cannot be bound is an error, as in daprd.
func newObservability(o *options, conf *resources.Configuration, log *slog.Logger) (*observability, error) {
	ob := &observability{log: log, cors: server.NewCORS(o.allowedOrigins)}
	spec := conf.Spec

	mo := metrics.Options{AppID: o.appID, Enabled: o.enableMetrics}
	if m := spec.Metric; m != nil {
		if m.Enabled != nil && !*m.Enabled {
			mo.Enabled = false
		}
		// daprd 1.18 still defaults to increased cardinality when unset.
		mo.IncreasedCardinality = true
		if h := m.HTTP; h != nil {
			if h.IncreasedCardinality != nil {
				mo.IncreasedCardinality = *h.IncreasedCardinality
			}
			mo.PathMatching = h.PathMatching
			mo.ExcludeVerbs = h.ExcludeVerbs != nil && *h.ExcludeVerbs
		}
		if b := m.LatencyDistributionBuckets; b != nil && len(*b) > 0 {
			for _, v := range *b {
				mo.LatencyBuckets = append(mo.LatencyBuckets, float64(v))
			}
		}
		mo.RecordErrorCodes = m.RecordErrorCodes != nil && *m.RecordErrorCodes
		for _, r := range m.Rules {
			rule := metrics.Rule{Name: r.Name}
			for _, l := range r.Labels {
				rule.Labels = append(rule.Labels, metrics.RuleLabel{Name: l.Name, Regex: l.Regex})
			}
			mo.Rules = append(mo.Rules, rule)
		}
		// daprd refuses to start on a rule whose expression does not compile.
		if err := metrics.ValidateRules(mo.Rules); err != nil {
			return nil, err
		}
	} else {
		mo.IncreasedCardinality = true
	}
	ob.metrics = metrics.New(mo)
	if ec := ob.metrics.ErrorCodes; ec != nil {
		apierr.SetRecorder(ec.Record)
	}
	if mo.Enabled {
		if err := ob.serveMetrics(o); err != nil {
			return nil, err
		}
		ob.registerProcessMetrics()
	}

	if spec.API != nil {
		ob.allowed = httpRules(spec.API.Allowed)
		ob.denied = httpRules(spec.API.Denied)
	}

	ob.apiLogging = o.enableAPILogging
	// daprd's API logger ("dapr.runtime.http-info") logs at info level
	// whatever --log-level says.
	hopts := &slog.HandlerOptions{Level: slog.LevelInfo}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, hopts)
	if o.logAsJSON {
		h = slog.NewJSONHandler(os.Stderr, hopts)
	}
	ob.apiLogger = slog.New(h).With("app_id", o.appID, "scope", "skiffd.http-info")
	if l := spec.Logging; l != nil && l.APILogging != nil {
		if !o.set["enable-api-logging"] {
			ob.apiLogging = l.APILogging.Enabled
		}
		ob.omitHealth = l.APILogging.OmitHealthChecks
		ob.obfuscateURL = l.APILogging.ObfuscateURLs
	}
	return ob, nil
}

func (ob *observability) serveMetrics(o *options) error {
	addr := net.JoinHostPort(strings.TrimSpace(o.metricsListenAddress), o.metricsPort)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics server: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", ob.metrics.Handler())
	mux.Handle("/", ob.metrics.Handler()) // daprd's exporter answers on any path
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			ob.log.Warn("metrics server: " + err.Error())
		}
	}()
	ob.log.Info("metrics server listening", "address", ln.Addr().String())
	return nil
}

// registerProcessMetrics adds skiff's own gauges that need no server.
func (ob *observability) registerProcessMetrics() {
	ob.metrics.CounterFunc("skiff_buffer_pool_allocated_total",
		"Buffers the pooled allocator had to allocate (pool misses).",
		func() float64 { return float64(bufpool.Allocated()) })
}

// watch adds the data plane's gauges, read at scrape time.
func (ob *observability) watch(srv *server.Server) {
	stat := func(f func(server.Stats) int64) func() float64 {
		return func() float64 { return float64(f(srv.Stats())) }
	}
	ob.metrics.GaugeFunc("skiff_http_connections", "Client connections open on the event loops.",
		stat(func(s server.Stats) int64 { return int64(s.Connections) }))
	ob.metrics.GaugeFunc("skiff_http_requests_in_flight", "HTTP API requests parsed and not yet answered.",
		stat(func(s server.Stats) int64 { return s.InFlight }))
	ob.metrics.GaugeFunc("skiff_worker_pool_workers", "Worker goroutines running blocking handlers.",
		stat(func(s server.Stats) int64 { return int64(s.Workers) }))
	ob.metrics.GaugeFunc("skiff_worker_pool_queue_depth", "Handlers waiting for a worker.",
		stat(func(s server.Stats) int64 { return int64(s.Queued) }))
}

// observeAppChannel reports the calls to the app, and the app health
// probes (their client is built from ch's settings), to the metrics.
func (ob *observability) observeAppChannel(ch *appchannel.Client) {
	if ch != nil && ob.metrics.AppChannel != nil {
		ch.SetObserver(ob.metrics.AppChannel)
	}
}

// serverConfig fills the data plane's observability settings.
func (ob *observability) serverConfig(c *server.Config) {
	c.Metrics = ob.metrics.HTTP
	c.CORS = ob.cors
	c.APILogging = ob.apiLogging
	c.APILogOmitHealth = ob.omitHealth
	if ob.apiLogging {
		c.APILogger = ob.apiLogger
	}
	c.APILogObfuscate = ob.obfuscateURL
}

// httpRules keeps the rules for the HTTP API: protocol "http", or none
// (rules written before daprd had gRPC rules meant HTTP).
func httpRules(rules []resources.APIAccessRule) []resources.APIAccessRule {
	var out []resources.APIAccessRule
	for _, r := range rules {
		if p := strings.ToLower(r.Protocol); p == "" || p == "http" {
			out = append(out, r)
		}
	}
	return out
}

// apiAllowed applies spec.api as daprd does when it builds its router: a
// route matched by a denied rule, or matched by no allowed rule while there
// are some, is not served (the request then gets the answer of an unknown
// path). Health routes are always allowed. A rule matches a route when
// "version/name" is a prefix of the route's path ("v1.0/state" matches
// "/v1.0/state/{storeName}/{key}"), or names its group and group version
// ("v1" and "state").
func (ob *observability) apiAllowed(r router.Route) bool {
	if len(ob.allowed) == 0 && len(ob.denied) == 0 {
		return true
	}
	if r.Name == "healthz" || r.Name == "healthz.outbound" {
		return true
	}
	path := strings.TrimPrefix(r.Pattern, "/")
	for _, rule := range ob.denied {
		if ruleMatches(rule, path) {
			return false
		}
	}
	if len(ob.allowed) == 0 {
		return true
	}
	for _, rule := range ob.allowed {
		if ruleMatches(rule, path) {
			return true
		}
	}
	return false
}

// invocationAllowed reports whether the invoke group is served; the
// dapr-app-id header routing (the table's Intercept and Fallback) is part
// of it.
func (ob *observability) invocationAllowed() bool {
	return ob.apiAllowed(router.Route{Name: "invoke", Pattern: "/v1.0/invoke/{id}/method/{method*}"})
}

func ruleMatches(rule resources.APIAccessRule, path string) bool {
	if strings.HasPrefix(path, rule.Version+"/"+rule.Name) {
		return true
	}
	version, rest, ok := strings.Cut(path, "/")
	if !ok {
		return false
	}
	group, _, _ := strings.Cut(rest, "/")
	return rule.Name == group && rule.Version == groupVersion(version)
}

// groupVersion is daprd's endpoint group version for a path version.
func groupVersion(v string) string {
	switch v {
	case "v1.0":
		return "v1"
	case "v1.0-alpha1":
		return "v1alpha1"
	case "v1.0-beta1":
		return "v1beta1"
	}
	return v
}
