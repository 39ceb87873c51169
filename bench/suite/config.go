package suite

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Sidecar is one sidecar binary to measure.
type Sidecar struct {
	Name     string   // "skiffd", "daprd"
	Binary   string   // path to the executable
	HTTPPort int      // --dapr-http-port
	GRPCPort int      // --dapr-grpc-port
	Metrics  int      // --metrics-port
	Args     []string // extra arguments
}

// Scenario is one kind of request.
type Scenario struct {
	Name   string
	Title  string // for the report, e.g. "GET /v1.0/healthz"
	Method string
	Path   string
	Body   string
	Direct bool // sent to the app itself, not through a sidecar
}

// Scenarios are the suite's request kinds, by name.
var Scenarios = []Scenario{
	{Name: "healthz", Title: "GET /v1.0/healthz", Method: "GET", Path: "/v1.0/healthz"},
	{Name: "state-save", Title: `POST /v1.0/state/statestore [{"key":"k1","value":{"a":1}}]`, Method: "POST", Path: "/v1.0/state/statestore", Body: `[{"key":"k1","value":{"a":1}}]`},
	{Name: "state-get", Title: "GET /v1.0/state/statestore/k1", Method: "GET", Path: "/v1.0/state/statestore/k1"},
	{Name: "invoke", Title: "POST /v1.0/invoke/bench/method/neworder", Method: "POST", Path: "/v1.0/invoke/" + AppID + "/method/neworder", Body: `{"orderId":1}`},
	{Name: "direct", Title: "POST /neworder, the app called directly (no sidecar)", Method: "POST", Path: "/neworder", Body: `{"orderId":1}`, Direct: true},
}

// AppID is the app id the sidecars are started with.
const AppID = "bench"

// Config is one suite run.
type Config struct {
	Sidecars  []Sidecar
	AppBinary string
	AppPort   int
	Scenarios []string // names from Scenarios; empty means all
	Conns     []int
	Duration  time.Duration
	Warmup    time.Duration
	Repeat    int
	Starts    int // startup-time samples per sidecar
	OutDir    string

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
		return Scenarios, nil
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
