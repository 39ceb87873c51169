package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffd/skiff/bench/proc"
)

// The test binary doubles as a fake sidecar and a fake app: the suite execs
// it with the sidecar's or the app's flags and this environment variable.
const fakeEnv = "SKIFF_BENCH_FAKE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) == "1" {
		fake(os.Args[1:])
		return
	}
	os.Exit(m.Run())
}

func fake(args []string) {
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	port := fs.Int("port", 0, "")
	httpPort := fs.Int("dapr-http-port", 0, "")
	appPort := fs.Int("app-port", 0, "")
	fs.String("app-id", "", "")
	fs.Int("dapr-grpc-port", 0, "")
	fs.Int("metrics-port", 0, "")
	fs.String("resources-path", "", "")
	fs.String("log-level", "", "")
	fs.Bool("subscribe", false, "")
	fs.Parse(args)
	mux := http.NewServeMux()
	listen := *port
	if *httpPort != 0 {
		listen = *httpPort
		var mu sync.Mutex
		state := map[string]json.RawMessage{}
		mux.HandleFunc("GET /v1.0/healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
		mux.HandleFunc("POST /v1.0/state/statestore", func(w http.ResponseWriter, r *http.Request) {
			var items []struct {
				Key   string          `json:"key"`
				Value json.RawMessage `json:"value"`
			}
			if err := json.NewDecoder(r.Body).Decode(&items); err != nil {
				w.WriteHeader(400)
				return
			}
			mu.Lock()
			for _, it := range items {
				state[it.Key] = it.Value
			}
			mu.Unlock()
			w.WriteHeader(204)
		})
		mux.HandleFunc("GET /v1.0/state/statestore/{key}", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			v, ok := state[r.PathValue("key")]
			mu.Unlock()
			if !ok {
				w.WriteHeader(204)
				return
			}
			w.Write(v)
		})
		ordersURL := fmt.Sprintf("http://127.0.0.1:%d/orders", *appPort)
		mux.HandleFunc("POST /v1.0/publish/pubsub/orders", func(w http.ResponseWriter, r *http.Request) {
			// Delivered before the answer, like daprd's in-memory pubsub.
			resp, err := http.Post(ordersURL, "application/cloudevents+json", r.Body)
			if err != nil {
				w.WriteHeader(500)
				return
			}
			resp.Body.Close()
			w.WriteHeader(204)
		})
		appURL := fmt.Sprintf("http://127.0.0.1:%d/neworder", *appPort)
		mux.HandleFunc("POST /v1.0/invoke/bench/method/neworder", func(w http.ResponseWriter, r *http.Request) {
			resp, err := http.Post(appURL, "application/json", r.Body)
			if err != nil {
				w.WriteHeader(500)
				return
			}
			defer resp.Body.Close()
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
		})
	} else {
		mux.HandleFunc("GET /dapr/config", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
		var orders atomic.Int64
		mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			orders.Add(1)
		})
		mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, orders.Load()) })
		mux.HandleFunc("DELETE /count", func(w http.ResponseWriter, r *http.Request) { orders.Store(0); w.WriteHeader(204) })
		mux.HandleFunc("POST /neworder", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Write([]byte(`{"status":"accepted"}`))
		})
	}
	http.ListenAndServe(fmt.Sprintf("127.0.0.1:%d", listen), mux)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestSuiteEndToEnd(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeEnv, "1")
	all := proc.AllCPUs()
	prevProcs := runtime.GOMAXPROCS(0)
	defer func() {
		proc.SetAffinity(os.Getpid(), all)
		runtime.GOMAXPROCS(prevProcs)
	}()
	out := t.TempDir()
	var log bytes.Buffer
	cfg := Config{
		Sidecars: []Sidecar{
			{Name: "fake-a", Binary: self, HTTPPort: freePort(t), GRPCPort: freePort(t), Metrics: freePort(t)},
			{Name: "fake-b", Binary: self, HTTPPort: freePort(t), GRPCPort: freePort(t), Metrics: freePort(t)},
		},
		AppBinary:   self,
		AppPort:     freePort(t),
		Conns:       []int{1, 4},
		Duration:    400 * time.Millisecond,
		Warmup:      100 * time.Millisecond,
		Repeat:      2,
		Starts:      2,
		OutDir:      out,
		GenCPUs:     all[len(all)-1:],
		SidecarCPUs: all[:1],
		Log:         &log,
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	for _, w := range rep.Warnings {
		if !strings.Contains(w, "load average") {
			t.Fatalf("warnings: %v\nlog:\n%s", rep.Warnings, log.String())
		}
	}
	// 4 sidecar scenarios × 2 conns × 2 sidecars + direct × 2 conns, per round.
	if len(rep.Runs) != 2*(5*2*2+2) || len(rep.Summaries) != 22 {
		t.Fatalf("%d runs, %d summaries", len(rep.Runs), len(rep.Summaries))
	}
	// Targets alternate: round 1 starts with fake-a, round 2 with fake-b.
	if rep.Runs[0].Target != "fake-a" || rep.Runs[1].Target != "fake-b" {
		t.Fatalf("round 1 order: %s, %s", rep.Runs[0].Target, rep.Runs[1].Target)
	}
	r2 := len(rep.Runs) / 2
	if rep.Runs[r2].Round != 2 || rep.Runs[r2].Target != "fake-b" || rep.Runs[r2+1].Target != "fake-a" {
		t.Fatalf("round 2 order: %+v, %+v", rep.Runs[r2], rep.Runs[r2+1])
	}
	sawCPU := false
	for _, s := range rep.Summaries {
		// Loose on purpose: this machine may be busy with other work.
		if s.Rounds != 2 || s.RPS <= 0 || s.P50 <= 0 || len(s.Curve) == 0 {
			t.Fatalf("summary %+v", s)
		}
		if (s.Target == "app") != (s.Scenario == "direct") {
			t.Fatalf("direct runs go to the app only: %+v", s)
		}
		if s.Target != "app" && s.RSS <= 0 {
			t.Fatalf("sidecar usage missing: %+v", s)
		}
		// CPU time moves in 10 ms ticks: a short run may see none.
		sawCPU = sawCPU || s.CPUPerReqUS > 0
	}
	if !sawCPU {
		t.Fatal("no sidecar CPU time in any summary")
	}
	for _, s := range rep.Summaries {
		if s.Scenario == "publish" && (s.Accepted == 0 || s.Delivered != s.Accepted || s.DeliveredRate <= 0) {
			t.Errorf("publish deliveries not counted: %+v", s)
		}
	}
	if len(rep.Derived) != 4 || rep.Derived[0].InvokePctDirect <= 0 {
		t.Fatalf("derived %+v", rep.Derived)
	}
	for _, si := range rep.Sidecars {
		if len(si.StartupMS) != 2 || si.StartupMed <= 0 || si.BinaryBytes <= 0 || si.IdleRSS <= 0 || si.PeakRSS < si.IdleRSS {
			t.Fatalf("sidecar info %+v", si)
		}
		if len(si.Checks) != 6 || si.Checks[0].Status != 204 {
			t.Fatalf("checks %+v", si.Checks)
		}
	}
	places := map[string]string{}
	for _, p := range rep.Placement {
		places[p.Role] = p.CPUs
	}
	if places["fake-a"] != fmt.Sprint(all[0]) || places["load generator"] != fmt.Sprint(all[len(all)-1]) {
		t.Fatalf("placement %+v", rep.Placement)
	}

	if err := rep.Write(out); err != nil {
		t.Fatal(err)
	}
	var back Report
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil || json.Unmarshal(b, &back) != nil || len(back.Summaries) != 22 {
		t.Fatalf("results.json: %v", err)
	}
	md, _ := os.ReadFile(filepath.Join(out, "results.md"))
	for _, want := range []string{"| scenario | conns | target | req/s | p50 | p99 |", "| GET /v1.0/healthz | 1 | fake-a |", "invoke req/s as % of direct", "startup"} {
		if !strings.Contains(string(md), want) {
			t.Fatalf("results.md lacks %q:\n%s", want, md)
		}
	}
	for _, name := range []string{"latency.svg", "latency-c1.svg", "latency-c4.svg"} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(f)
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		f.Close()
	}
	// Every child is gone: the ports are free again.
	for _, p := range []int{cfg.AppPort, cfg.Sidecars[0].HTTPPort, cfg.Sidecars[1].HTTPPort} {
		if err := waitPortFree(p, 3*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
