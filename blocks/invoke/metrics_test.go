package invoke

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/skiffd/skiff/dataplane/metrics"
)

func completed(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "dapr_http_client_completed_count" {
			continue
		}
		for _, s := range f.GetMetric() {
			out[labelString(s)] = s.GetCounter().GetValue()
		}
	}
	return out
}

func labelString(s *dto.Metric) string {
	var b bytes.Buffer
	for i, l := range s.GetLabel() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.GetName() + "=" + l.GetValue())
	}
	return b.String()
}

// roundTrip sends req on c and waits for a response ending with want.
func roundTrip(t testing.TB, c net.Conn, buf, req, want []byte) {
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	have := 0
	for !bytes.HasSuffix(buf[:have], want) {
		n, err := c.Read(buf[have:])
		if err != nil {
			t.Fatal(err)
		}
		have += n
	}
}

// Calls sent from the event loop are reported as app channel calls, with
// the verb and path the app saw; a warm one still allocates nothing.
func TestLoopInvokeMetrics(t *testing.T) {
	m := metrics.New(metrics.Options{AppID: appID, Enabled: true, IncreasedCardinality: true})
	addr, _ := loopServerWith(t, cannedApp(t), func(s *Service) { s.cfg.Channel.SetObserver(m.AppChannel) })
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("POST /v1.0/invoke/myapp/method/neworder?x=1 HTTP/1.1\r\nHost: localhost:3500\r\nContent-Length: 13\r\n\r\n{\"orderId\":1}")
	buf := make([]byte, 4096)
	want := []byte("\r\n\r\n{\"ok\":true}")
	run := func() { roundTrip(t, c, buf, req, want) }
	for i := 0; i < 10; i++ {
		run()
	}
	got := completed(t, m)
	if got["app_id=myapp,method=POST,path=/neworder,status=200"] != 10 {
		t.Fatalf("completed %v", got)
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(500, run); n != 0 {
		t.Errorf("%v allocations per in-loop invoke with metrics, want 0", n)
	}
}

// A call the app never answers counts as 500, as in daprd.
func TestLoopInvokeMetricsAppDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	m := metrics.New(metrics.Options{AppID: appID, Enabled: true})
	addr, _ := loopServerWith(t, port, func(s *Service) { s.cfg.Channel.SetObserver(m.AppChannel) })
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	roundTrip(t, c, buf, []byte("GET /v1.0/invoke/myapp/method/x HTTP/1.1\r\nHost: h\r\n\r\n"), []byte("}"))
	if got := completed(t, m); got["app_id=myapp,status=500"] != 1 {
		t.Fatalf("completed %v", got)
	}
}

// The latency of a loop-sent call covers the app's time, also when its
// large answer is relayed from a worker.
func TestLoopInvokeMetricsLatency(t *testing.T) {
	big := bytes.Repeat([]byte("z"), 200<<10)
	app := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		if r.URL.Path == "/big" {
			_, _ = w.Write(big)
		}
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Serve(ln)
	t.Cleanup(func() { app.Close() })
	m := metrics.New(metrics.Options{AppID: appID, Enabled: true, IncreasedCardinality: true})
	addr, _ := loopServerWith(t, ln.Addr().(*net.TCPAddr).Port, func(s *Service) { s.cfg.Channel.SetObserver(m.AppChannel) })
	for _, p := range []string{"small", "big"} {
		resp, err := http.Get("http://" + addr + "/v1.0/invoke/myapp/method/" + p)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range fams {
		if f.GetName() != "dapr_http_client_roundtrip_latency" {
			continue
		}
		for _, s := range f.GetMetric() {
			h := s.GetHistogram()
			if h.GetSampleCount() != 1 || h.GetSampleSum() < 30 {
				t.Errorf("%s: %d samples, sum %v ms", labelString(s), h.GetSampleCount(), h.GetSampleSum())
			}
			seen++
		}
	}
	if seen != 2 {
		t.Errorf("%d latency series, want 2", seen)
	}
}
