package suite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/skiffd/skiff/bench/loadgen"
	"github.com/skiffd/skiff/bench/proc"
)

// child is a process the suite started.
type child struct {
	name    string
	cmd     *exec.Cmd
	log     *os.File
	started time.Time
	exited  chan struct{}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// start execs argv with output to logPath, confined to cpus (every CPU when
// empty, so a pinned parent does not leak its mask).
func start(name string, argv []string, logPath string, cpus []int) (*child, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	fmt.Fprintf(lf, "\n=== %s: %v\n", time.Now().Format(time.RFC3339Nano), argv)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Die with the suite rather than linger on the benchmark's ports.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	c := &child{name: name, cmd: cmd, log: lf, exited: make(chan struct{})}
	c.started = time.Now()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { cmd.Wait(); close(c.exited) }()
	if len(cpus) == 0 {
		cpus = proc.AllCPUs()
	}
	if err := proc.SetAffinity(c.pid(), cpus); err != nil {
		c.stop()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return c, nil
}

// place re-applies the CPU mask once the process has spawned its threads.
func (c *child) place(cpus []int) error {
	if len(cpus) == 0 {
		cpus = proc.AllCPUs()
	}
	return proc.SetAffinity(c.pid(), cpus)
}

// stop asks the process to end, then kills it after a grace period.
func (c *child) stop() {
	select {
	case <-c.exited:
	default:
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
		}
	}
	c.log.Close()
}

// waitStatus polls a URL path tightly until it answers want, and returns
// the time from exec to that answer.
func (c *child) waitStatus(ctx context.Context, t loadgen.Target, path string, want int, limit time.Duration) (time.Duration, error) {
	req := loadgen.Request{Method: "GET", Path: path, Host: t.Host}.Encode()
	deadline := c.started.Add(limit)
	last := errors.New("no answer")
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return 0, fmt.Errorf("%s exited before %s answered %d (see its log %s)", c.name, path, want, c.log.Name())
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		status, err := loadgen.Probe(t, req, time.Second)
		if err == nil && status == want {
			return time.Since(c.started), nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("status %d", status)
		}
		time.Sleep(200 * time.Microsecond)
	}
	return 0, fmt.Errorf("%s: %s did not answer %d within %v: %w", c.name, path, want, limit, last)
}

// portFree reports whether nothing listens on 127.0.0.1:port, so a stale
// server cannot answer for the one we start.
func portFree(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

func waitPortFree(port int, limit time.Duration) error {
	end := time.Now().Add(limit)
	for !portFree(port) {
		if time.Now().After(end) {
			return fmt.Errorf("port %d still in use", port)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func sidecarArgv(s Sidecar, appPort int, resources string) []string {
	if s.UnixDir != "" {
		// A socket file left by a killed run would make the bind fail.
		_ = os.MkdirAll(s.UnixDir, 0o755)
	}
	argv := []string{s.Binary,
		"--app-id", AppID,
		"--app-port", strconv.Itoa(appPort),
		"--dapr-http-port", strconv.Itoa(s.HTTPPort),
		"--dapr-grpc-port", strconv.Itoa(s.GRPCPort),
		"--metrics-port", strconv.Itoa(s.Metrics),
		"--resources-path", resources,
		"--log-level", "warn",
	}
	if s.UnixDir != "" {
		argv = append(argv, "--unix-domain-socket", s.UnixDir)
	}
	return append(argv, s.Args...)
}

// tcp is the target of a TCP port on loopback.
func tcp(port int) loadgen.Target {
	host := "127.0.0.1:" + strconv.Itoa(port)
	return loadgen.Target{Network: "tcp", Addr: host, Host: host}
}

// components are the in-memory components every sidecar loads, so daprd
// and skiffd serve the same scenarios.
const components = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.in-memory
  version: v1
  metadata: []
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.in-memory
  version: v1
  metadata: []
`

// backendComponents are the Redis and PostgreSQL stores, loaded only when a
// scenario uses them (addresses from SKIFF_REDIS_ADDR / SKIFF_PG_URL).
func backendComponents(scens []Scenario) string {
	var redis, pg, redisPS, js, jsPar bool
	for _, s := range scens {
		redis = redis || strings.HasPrefix(s.Name, "redis-state")
		pg = pg || strings.HasPrefix(s.Name, "pg-")
		redisPS = redisPS || s.Name == "redis-publish"
		js = js || s.Name == "jetstream-publish"
		jsPar = jsPar || s.Name == "jetstream-parallel-publish"
	}
	out := brokerComponents(redisPS, js, jsPar)
	if redis {
		addr := os.Getenv("SKIFF_REDIS_ADDR")
		if addr == "" {
			addr = "127.0.0.1:6379"
		}
		out += `---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: redisstore
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: "` + addr + `"
`
	}
	if pg {
		url := os.Getenv("SKIFF_PG_URL")
		if url == "" {
			url = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
		}
		out += `---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pgstore
spec:
  type: state.postgresql
  version: v1
  metadata:
  - name: connectionString
    value: "` + url + `"
  - name: tableName
    value: bench_state
  - name: metadataTableName
    value: bench_dapr_metadata
`
	}
	return out
}

// brokerComponents are the pub/sub brokers of the publish scenarios:
// stream bench-orders on Redis (trimmed to ~100k entries) and on NATS
// (created by skiffd, skiffCreateStream; daprd ignores that key and needs
// the stream to exist, which a skiffd run leaves behind).
func brokerComponents(redis, js, jsPar bool) string {
	out := ""
	if redis {
		addr := os.Getenv("SKIFF_REDIS_ADDR")
		if addr == "" {
			addr = "127.0.0.1:6379"
		}
		out += `---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: redispubsub
spec:
  type: pubsub.redis
  version: v1
  metadata:
  - name: redisHost
    value: "` + addr + `"
  - name: maxLenApprox
    value: "500000"
`
	}
	url := os.Getenv("SKIFF_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	if jsPar {
		// The same stream, its own topic and durable consumer, daprd's
		// concurrency: parallel (no order).
		out += `---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: jsparpubsub
spec:
  type: pubsub.jetstream
  version: v1
  metadata:
  - name: natsURL
    value: "` + url + `"
  - name: streamName
    value: bench-orders
  - name: durableName
    value: bench-par
  - name: concurrency
    value: parallel
  - name: skiffCreateStream
    value: "true"
  - name: skiffStreamMaxMsgs
    value: "500000"
`
	}
	if js {
		out += `---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: jspubsub
spec:
  type: pubsub.jetstream
  version: v1
  metadata:
  - name: natsURL
    value: "` + url + `"
  - name: streamName
    value: bench-orders
  - name: durableName
    value: bench
  - name: skiffCreateStream
    value: "true"
  - name: skiffStreamMaxMsgs
    value: "500000"
`
	}
	return out
}

func writeResources(dir string, scens []Scenario) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("resources: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "components.yaml"), []byte(components+backendComponents(scens)), 0o644); err != nil {
		return fmt.Errorf("resources: %w", err)
	}
	return nil
}
