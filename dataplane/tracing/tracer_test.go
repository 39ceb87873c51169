package tracing

import (
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/skiffd/skiff/dataplane/router"
)

func TestSamplingRate(t *testing.T) {
	for in, want := range map[string]float64{"": 0, "0": 0, "1": 1, "0.25": 0.25, "7": 1, "-1": 0, "x": 0, " 0.5 ": 0.5} {
		if got := SamplingRate(in); got != want {
			t.Errorf("SamplingRate(%q) = %v, want %v", in, got, want)
		}
	}
	if tr, err := New(Settings{SamplingRate: "0", Stdout: true}, "app"); tr != nil || err != nil {
		t.Fatalf("rate 0: %v %v", tr, err)
	}
	if _, err := New(Settings{SamplingRate: "1", OtelEndpoint: "127.0.0.1:1", OtelProtocol: "udp"}, "app"); err == nil {
		t.Fatal("otel.protocol udp accepted")
	}
	tr, err := New(Settings{SamplingRate: "1", OtelEndpoint: "127.0.0.1:1", OtelProtocol: "grpc", ZipkinEndpoint: "http://127.0.0.1:1/api/v2/spans"}, "app")
	if err != nil || tr == nil {
		t.Fatalf("grpc + zipkin: %v", err)
	}
	_ = tr.Close()
}

func newTestTracer(t *testing.T, sampler sdktrace.Sampler) (*Tracer, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sampler))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	return &Tracer{tp: tp, tr: tp.Tracer("test")}, exp
}

func request(t *testing.T, raw string) *router.Ctx {
	t.Helper()
	c := &router.Ctx{}
	if _, err := c.Req.Parse([]byte(raw), 8192); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestServerSpan checks daprd's API span: parent from traceparent, kind
// client, name and attributes by API, response traceparent, error status.
func TestServerSpan(t *testing.T) {
	tr, exp := newTestTracer(t, sdktrace.AlwaysSample())
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	c := request(t, "GET /v1.0/state/store/k1 HTTP/1.1\r\nHost: x\r\ntraceparent: "+parent+"\r\ntracestate: a=b\r\ndapr-api-token: secret\r\ndapr-custom: v\r\n\r\n")
	s := tr.Start(c)
	if !strings.HasPrefix(string(c.Trace), "00-4bf92f3577b34da6a3ce929d0e0e4736-") || strings.Contains(string(c.Trace), "00f067aa0ba902b7") {
		t.Fatalf("c.Trace %q", c.Trace)
	}
	c.SetStatus(404)
	tr.Finish(c, s)
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	sp := spans[0]
	if sp.Name != "/v1.0/state/store/k1" || sp.SpanKind != trace.SpanKindClient || sp.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("span %s kind %v parent %s", sp.Name, sp.SpanKind, sp.Parent.SpanID())
	}
	attrs := map[string]string{}
	for _, a := range sp.Attributes {
		attrs[string(a.Key)] = a.Value.AsString()
	}
	for k, v := range map[string]string{"db.system": "state", "db.name": "store", "db.statement": "GET /v1.0/state/store/k1",
		"db.connection_string": "state", "dapr.api": "GET /v1.0/state/store/k1", "dapr.status_code": "404", "dapr.protocol": "http", "dapr-custom": "v"} {
		if attrs[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, attrs[k], v)
		}
	}
	if _, ok := attrs["dapr-api-token"]; ok {
		t.Error("the API token is in the span")
	}
	if sp.Status.Description != "Code(404): Not Found" {
		t.Errorf("status %+v", sp.Status)
	}
	h := string(c.Headers())
	if !strings.Contains(h, "traceparent: "+string(c.Trace)+"\r\n") || !strings.Contains(h, "tracestate: a=b\r\n") {
		t.Errorf("response headers %q", h)
	}

	// Health checks are not traced; a header the handler set is kept.
	if tr.Start(request(t, "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n")) != nil {
		t.Error("healthz traced")
	}
	c = request(t, "POST /v1.0/invoke/app/method/a/b HTTP/1.1\r\nHost: x\r\n\r\n")
	s = tr.Start(c)
	c.SetHeader("Traceparent", "from-app")
	tr.Finish(c, s)
	if strings.Count(strings.ToLower(string(c.Headers())), "traceparent") != 1 {
		t.Errorf("headers %q", c.Headers())
	}
	if n := exp.GetSpans()[1].Name; n != "CallLocal/app/a/b" {
		t.Errorf("invoke span name %q", n)
	}
	c = request(t, "POST /v1.0/publish/ps/orders HTTP/1.1\r\nHost: x\r\n\r\n")
	tr.Finish(c, tr.Start(c))
	c = request(t, "POST /m1 HTTP/1.1\r\nHost: x\r\ndapr-app-id: other\r\n\r\n")
	tr.Finish(c, tr.Start(c))
	got := exp.GetSpans()
	if a := got[2].Attributes; len(a) < 3 || got[2].Name != "/v1.0/publish/ps/orders" {
		t.Errorf("publish span %s %v", got[2].Name, a)
	}
	if got[3].Name != "CallLocal/other/m1" {
		t.Errorf("header-form invoke span %q", got[3].Name)
	}
}

// TestNotSampled: a span the sampler drops still gives a traceparent (flags
// 00) but no attributes and no export.
func TestNotSampled(t *testing.T) {
	tr, exp := newTestTracer(t, sdktrace.NeverSample())
	c := request(t, "GET /v1.0/state/s/k HTTP/1.1\r\nHost: x\r\n\r\n")
	tr.Finish(c, tr.Start(c))
	if len(exp.GetSpans()) != 0 || !strings.HasSuffix(string(c.Trace), "-00") {
		t.Fatalf("spans %d, trace %q", len(exp.GetSpans()), c.Trace)
	}
}

func TestDeliverySpan(t *testing.T) {
	tr, exp := newTestTracer(t, sdktrace.AlwaysSample())
	tp, end := tr.StartDelivery(t.Context(), "orders", []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), nil)
	end(ErrDelivery)
	sp := exp.GetSpans()[0]
	if sp.Name != "pubsub/orders" || sp.Parent.SpanID().String() != "00f067aa0ba902b7" || !strings.Contains(string(tp), sp.SpanContext.SpanID().String()) {
		t.Fatalf("span %s parent %s, traceparent %q", sp.Name, sp.Parent.SpanID(), tp)
	}
}

// BenchmarkServerSpan is the cost of the server hook per request when
// tracing is on (sampled: attributes and export to a no-op batcher).
func BenchmarkServerSpan(b *testing.B) {
	for _, bc := range []struct {
		name    string
		sampler sdktrace.Sampler
	}{{"sampled", sdktrace.AlwaysSample()}, {"not-sampled", sdktrace.NeverSample()}} {
		b.Run(bc.name, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(bc.sampler), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
			defer func() { _ = tp.Shutdown(b.Context()) }()
			tr := &Tracer{tp: tp, tr: tp.Tracer("bench")}
			c := &router.Ctx{}
			raw := []byte("GET /v1.0/state/store/k1 HTTP/1.1\r\nHost: x\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n")
			if _, err := c.Req.Parse(raw, 8192); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				c.SetStatus(200)
				tr.Finish(c, tr.Start(c))
				c.Reset()
				_, _ = c.Req.Parse(raw, 8192)
			}
		})
	}
}

func BenchmarkParseTraceParent(b *testing.B) {
	v := []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseTraceParent(v)
	}
}
