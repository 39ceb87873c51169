package suite

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/skiffd/skiff/bench/loadgen"
)

// Sidecar is one sidecar binary to measure.
type Sidecar struct {
	Name     string   // "skiffd", "daprd"
	Binary   string   // path to the executable
	HTTPPort int      // --dapr-http-port
	GRPCPort int      // --dapr-grpc-port
	Metrics  int      // --metrics-port
	Args     []string // extra arguments
	// AppPort is this sidecar's own app (0: Config.AppPort). A sidecar
	// with the eBPF shortcut gets its own app, so that the shortcut (which
	// covers every loopback connection to its app port) touches nothing
	// the other sidecars or the direct scenario use.
	AppPort int
	// UnixDir serves the API on a Unix socket in this directory
	// (--unix-domain-socket); the generator then connects there.
	UnixDir string
}

// appPort is the port of the app this sidecar calls.
func (s Sidecar) appPort(cfg Config) int {
	if s.AppPort != 0 {
		return s.AppPort
	}
	return cfg.AppPort
}

// target is where the generator sends this sidecar's requests.
func (s Sidecar) target() loadgen.Target {
	host := "127.0.0.1:" + strconv.Itoa(s.HTTPPort)
	if s.UnixDir != "" {
		return loadgen.Target{Network: "unix", Addr: filepath.Join(s.UnixDir, "dapr-http-"+AppID+".socket"), Host: "localhost"}
	}
	return loadgen.Target{Network: "tcp", Addr: host, Host: host}
}

// Scenario is one kind of request.
type Scenario struct {
	Name   string
	Title  string // for the report, e.g. "GET /v1.0/healthz"
	Method string
	Path   string
	Body   string
	Direct bool // sent to the app itself, not through a sidecar
	// Deliveries: the requests publish events that the app counts; the run
	// waits for them to arrive and reports how many did (see delivery.go).
	Deliveries bool
	// Backend scenarios need Redis or PostgreSQL; they run by default only
	// with Config.Backends.
	Backend bool
	// BackendComm names the backend server process (its /proc comm) whose
	// CPU per request the run reports beside the sidecar's: a publish is
	// bounded by the broker when the broker spends more.
	BackendComm string
}

// Scenarios are the suite's request kinds, by name.
var Scenarios = []Scenario{
	{Name: "healthz", Title: "GET /v1.0/healthz", Method: "GET", Path: "/v1.0/healthz"},
	{Name: "state-save", Title: `POST /v1.0/state/statestore [{"key":"k1","value":{"a":1}}]`, Method: "POST", Path: "/v1.0/state/statestore", Body: `[{"key":"k1","value":{"a":1}}]`},
	{Name: "state-get", Title: "GET /v1.0/state/statestore/k1", Method: "GET", Path: "/v1.0/state/statestore/k1"},
	// Backend stores (Redis and PostgreSQL on loopback, .ci/services.sh).
	{Name: "redis-state-save", Title: `POST /v1.0/state/redisstore [{"key":"k1","value":{"a":1}}] (state.redis)`, Method: "POST", Path: "/v1.0/state/redisstore", Body: `[{"key":"k1","value":{"a":1}}]`, Backend: true, BackendComm: "redis-server"},
	{Name: "redis-state-get", Title: "GET /v1.0/state/redisstore/k1 (state.redis)", Method: "GET", Path: "/v1.0/state/redisstore/k1", Backend: true, BackendComm: "redis-server"},
	{Name: "pg-state-save", Title: `POST /v1.0/state/pgstore [{"key":"k1","value":{"a":1}}] (state.postgresql)`, Method: "POST", Path: "/v1.0/state/pgstore", Body: `[{"key":"k1","value":{"a":1}}]`, Backend: true},
	{Name: "pg-state-get", Title: "GET /v1.0/state/pgstore/k1 (state.postgresql)", Method: "GET", Path: "/v1.0/state/pgstore/k1", Backend: true},
	{Name: "invoke", Title: "POST /v1.0/invoke/bench/method/neworder", Method: "POST", Path: "/v1.0/invoke/" + AppID + "/method/neworder", Body: `{"orderId":1}`},
	{Name: "publish", Title: "POST /v1.0/publish/pubsub/orders (delivered to the app)", Method: "POST", Path: "/v1.0/publish/pubsub/orders", Body: `{"orderId":1}`, Deliveries: true},
	// Brokers (Redis Streams, NATS JetStream): publish with delivery.
	{Name: "redis-publish", Title: "POST /v1.0/publish/redispubsub/bench-orders (pubsub.redis, delivered to the app)", Method: "POST", Path: "/v1.0/publish/redispubsub/bench-orders", Body: `{"orderId":1}`, Deliveries: true, Backend: true, BackendComm: "redis-server"},
	{Name: "jetstream-publish", Title: "POST /v1.0/publish/jspubsub/bench-orders (pubsub.jetstream, delivered to the app)", Method: "POST", Path: "/v1.0/publish/jspubsub/bench-orders", Body: `{"orderId":1}`, Deliveries: true, Backend: true, BackendComm: "nats-server"},
	{Name: "jetstream-parallel-publish", Title: "POST /v1.0/publish/jsparpubsub/bench-orders-par (pubsub.jetstream, concurrency: parallel, delivered to the app)", Method: "POST", Path: "/v1.0/publish/jsparpubsub/bench-orders-par", Body: `{"orderId":1}`, Deliveries: true, Backend: true, BackendComm: "nats-server"},
	{Name: "direct", Title: "POST /neworder, the app called directly (no sidecar)", Method: "POST", Path: "/neworder", Body: `{"orderId":1}`, Direct: true},
}

// AppID is the app id the sidecars are started with.
const AppID = "bench"

// Config is one suite run.
type Config struct {
	Sidecars  []Sidecar
	AppBinary string
	AppPort   int
	Scenarios []string // names from Scenarios; empty means all (backend ones with Backends)
	Backends  bool     // include the Redis and PostgreSQL scenarios by default
	Conns     []int
	Duration  time.Duration
	Warmup    time.Duration
	Repeat    int
	Starts    int // startup-time samples per sidecar
	OutDir    string

	// Baseline is the target the others named Baseline+"+…" are compared
	// with (ratios of p50 and req/s); default "skiffd".
	Baseline string

	GenCPUs     []int // generator placement; empty means unpinned
	SidecarCPUs []int // empty means every CPU
	AppCPUs     []int // empty means every CPU

	Log io.Writer
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.AppPort == 0 {
		c.AppPort = 6001
	}
	if len(c.Conns) == 0 {
		c.Conns = []int{1, 64}
	}
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Repeat == 0 {
		c.Repeat = 3
	}
	if c.Starts == 0 {
		c.Starts = 5
	}
	if c.OutDir == "" {
		c.OutDir = "bench/out"
	}
	if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	if c.Baseline == "" {
		c.Baseline = "skiffd"
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	for i := range c.Sidecars {
		s := &c.Sidecars[i]
		if s.HTTPPort == 0 {
			s.HTTPPort = 3500 + 10*i
		}
		if s.GRPCPort == 0 {
			s.GRPCPort = 50001 + 10*i
		}
		if s.Metrics == 0 {
			s.Metrics = 9090 + 10*i
		}
	}
}

func (c *Config) scenarios() ([]Scenario, error) {
	if len(c.Scenarios) == 0 {
		var out []Scenario
		for _, s := range Scenarios {
			if !s.Backend || c.Backends {
				out = append(out, s)
			}
		}
		return out, nil
	}
	var out []Scenario
	for _, name := range c.Scenarios {
		found := false
		for _, s := range Scenarios {
			if s.Name == name {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q", name)
		}
	}
	return out, nil
}

func (c *Config) validate() error {
	if c.AppBinary == "" {
		return errors.New("no app binary")
	}
	names := map[string]bool{}
	for _, s := range c.Sidecars {
		if s.Binary == "" || s.Name == "" {
			return errors.New("sidecar needs a name and a binary")
		}
		if names[s.Name] {
			return fmt.Errorf("sidecar %q twice", s.Name)
		}
		names[s.Name] = true
	}
	return nil
}
