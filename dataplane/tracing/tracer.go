package tracing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	//lint:ignore SA1019 daprd's spec.tracing.zipkin exports with it; OTel keeps it until 2027.
	"go.opentelemetry.io/otel/exporters/zipkin"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/skiffd/skiff/dataplane/router"
)

// Settings is Configuration spec.tracing.
type Settings struct {
	SamplingRate   string
	Stdout         bool
	StdoutWriter   io.Writer // default os.Stdout
	ZipkinEndpoint string
	OtelEndpoint   string
	OtelProtocol   string // "grpc" or "http"
	OtelSecure     bool
	OtelHeaders    string // "k1=v1,k2=v2"
	OtelTimeout    time.Duration
	// BatchTimeout is how long spans wait before export (0: 2 s).
	BatchTimeout time.Duration
}

// SamplingRate is daprd's GetTraceSamplingRate: a float clamped to [0, 1];
// unparsable is 0 (tracing off).
func SamplingRate(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 {
		return 0
	}
	return min(v, 1)
}

// Tracer creates daprd's spans and exports them.
type Tracer struct {
	tp *sdktrace.TracerProvider
	tr trace.Tracer
}

// New returns the tracer for s, or nil when the sampling rate is 0: then
// nothing is traced and nothing costs anything.
func New(s Settings, appID string) (*Tracer, error) {
	rate := SamplingRate(s.SamplingRate)
	if rate == 0 {
		return nil, nil
	}
	bt := s.BatchTimeout
	if bt == 0 {
		bt = 2 * time.Second
	}
	res := resource.NewSchemaless(attribute.String("service.name", appID))
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(rate))),
	}
	exps, err := exporters(s)
	if err != nil {
		return nil, err
	}
	for _, e := range exps {
		opts = append(opts, sdktrace.WithBatcher(e, sdktrace.WithBatchTimeout(bt)))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	return &Tracer{tp: tp, tr: tp.Tracer("skiffd")}, nil
}

func exporters(s Settings) ([]sdktrace.SpanExporter, error) {
	var out []sdktrace.SpanExporter
	ctx := context.Background()
	if s.OtelEndpoint != "" {
		headers := map[string]string{}
		for _, kv := range strings.Split(s.OtelHeaders, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok && strings.TrimSpace(k) != "" {
				headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		var e sdktrace.SpanExporter
		var err error
		switch strings.ToLower(s.OtelProtocol) {
		case "http":
			o := []otlptracehttp.Option{otlptracehttp.WithEndpoint(s.OtelEndpoint), otlptracehttp.WithHeaders(headers)}
			if !s.OtelSecure {
				o = append(o, otlptracehttp.WithInsecure())
			}
			if s.OtelTimeout > 0 {
				o = append(o, otlptracehttp.WithTimeout(s.OtelTimeout))
			}
			e, err = otlptracehttp.New(ctx, o...)
		case "grpc":
			o := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(s.OtelEndpoint), otlptracegrpc.WithHeaders(headers)}
			if !s.OtelSecure {
				o = append(o, otlptracegrpc.WithInsecure())
			}
			if s.OtelTimeout > 0 {
				o = append(o, otlptracegrpc.WithTimeout(s.OtelTimeout))
			}
			e, err = otlptracegrpc.New(ctx, o...)
		default:
			return nil, fmt.Errorf("tracing: otel.protocol %q: want grpc or http", s.OtelProtocol)
		}
		if err != nil {
			return nil, fmt.Errorf("tracing: otel exporter: %w", err)
		}
		out = append(out, e)
	}
	if s.ZipkinEndpoint != "" {
		e, err := zipkin.New(s.ZipkinEndpoint)
		if err != nil {
			return nil, fmt.Errorf("tracing: zipkin exporter: %w", err)
		}
		out = append(out, e)
	}
	if s.Stdout {
		w := s.StdoutWriter
		if w == nil {
			w = os.Stdout
		}
		e, err := stdouttrace.New(stdouttrace.WithWriter(w))
		if err != nil {
			return nil, fmt.Errorf("tracing: stdout exporter: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Close flushes the spans still queued and stops the exporters.
func (t *Tracer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// remote returns ctx with the parent given by traceparent and tracestate
// (nothing when traceparent is absent or invalid).
func remote(ctx context.Context, traceparent, tracestate []byte) context.Context {
	if len(traceparent) == 0 {
		return ctx
	}
	sc, ok := ParseTraceParent(traceparent)
	if !ok {
		return ctx
	}
	cfg := trace.SpanContextConfig{TraceID: sc.TraceID, SpanID: sc.SpanID, TraceFlags: trace.TraceFlags(sc.Flags), Remote: true}
	if len(tracestate) > 0 {
		if ts, err := trace.ParseTraceState(string(tracestate)); err == nil {
			cfg.TraceState = ts
		}
	}
	return trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(cfg))
}

// appendSpan appends span's context as a traceparent.
func appendSpan(dst []byte, sc trace.SpanContext) []byte {
	return AppendTraceParent(dst, SpanContext{TraceID: sc.TraceID(), SpanID: sc.SpanID(), Flags: byte(sc.TraceFlags())})
}

// Start is the server's hook, called once a request is routed and before
// its handler: it starts daprd's API span (kind client, named by the path
// until Finish corrects it) under the caller's traceparent and puts the
// span's own traceparent in c.Trace for the blocks to pass on. Health
// checks are not traced, as in daprd.
func (t *Tracer) Start(c *router.Ctx) any {
	path := c.Req.Path()
	if bytes.Contains(path, []byte("/healthz")) {
		return nil
	}
	ctx := remote(context.Background(), c.Req.Header("traceparent"), c.Req.Header("tracestate"))
	_, span := t.tr.Start(ctx, string(path), trace.WithSpanKind(trace.SpanKindClient))
	c.Trace = appendSpan(c.Trace[:0], span.SpanContext())
	if c.Req.Header("baggage") != nil {
		if bg := requestBaggage(&c.Req); bg != "" {
			return &baggageSpan{Span: span, baggage: bg}
		}
	}
	return span
}

// baggageSpan is the API span of a request that brought W3C baggage:
// Finish answers the valid items in the response's baggage header, as
// daprd's tracing middleware does.
type baggageSpan struct {
	trace.Span
	baggage string
}

// requestBaggage is ValidBaggage of every baggage header of r.
func requestBaggage(r interface {
	NumHeaders() int
	HeaderAt(i int) (name, value []byte)
}) string {
	var values [][]byte
	for i := 0; i < r.NumHeaders(); i++ {
		if k, v := r.HeaderAt(i); len(k) == len("baggage") && strings.EqualFold(string(k), "baggage") {
			values = append(values, v)
		}
	}
	return ValidBaggage(values)
}

// Finish is the server's hook, called before the response head is encoded:
// it names and attributes a sampled span as daprd does, adds the
// traceparent (and tracestate) response headers unless the handler set
// them, sets the status and ends the span.
func (t *Tracer) Finish(c *router.Ctx, s any) {
	span, ok := s.(trace.Span)
	if !ok {
		return
	}
	status := c.StatusCode()
	sc := span.SpanContext()
	if sc.IsSampled() {
		name, attrs := apiAttributes(&c.Req, status)
		if name != "" {
			span.SetName(name)
		}
		span.SetAttributes(attrs...)
	}
	if b, ok := s.(*baggageSpan); ok && !hasHeader(c.Headers(), "baggage") {
		c.SetHeader("baggage", b.baggage)
	}
	if !hasHeader(c.Headers(), "traceparent") {
		c.SetHeaderBytes("traceparent", c.Trace)
		if ts := sc.TraceState().String(); ts != "" && len(ts) <= 512 {
			c.SetHeader("tracestate", ts)
		}
	}
	setStatus(span, status)
	span.End()
}

// setStatus is daprd's UpdateSpanStatusFromHTTPStatus.
func setStatus(span trace.Span, code int) {
	if code < 400 {
		return
	}
	text := http.StatusText(code)
	if text == "" {
		text = "Unknown"
	}
	span.SetStatus(otelcodes.Error, "Code("+strconv.Itoa(code)+"): "+text)
}

// hasHeader reports whether encoded header lines contain name.
func hasHeader(lines []byte, name string) bool {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		if i < 0 {
			i = len(lines) - 1
		}
		line := lines[:i+1]
		lines = lines[i+1:]
		if len(line) > len(name) && line[len(name)] == ':' && strings.EqualFold(string(line[:len(name)]), name) {
			return true
		}
	}
	return false
}

// apiAttributes is daprd's spanAttributesMapFromHTTPContext plus the
// user's dapr-* headers; name is the corrected span name ("" to keep it).
func apiAttributes(r interface {
	Path() []byte
	Method() []byte
	NumHeaders() int
	HeaderAt(i int) (name, value []byte)
	Header(name string) []byte
}, status int) (string, []attribute.KeyValue) {
	path := string(r.Path())
	api := string(r.Method()) + " " + path
	attrs := make([]attribute.KeyValue, 0, 10)
	for i := 0; i < r.NumHeaders(); i++ {
		k, v := r.HeaderAt(i)
		lk := strings.ToLower(string(k))
		// daprd adds every dapr-* header; the API token stays out of spans.
		if strings.HasPrefix(lk, "dapr-") && lk != "dapr-api-token" {
			attrs = append(attrs, attribute.String(lk, string(v)))
		}
	}
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	at := func(i int) string {
		if i < len(seg) {
			return seg[i]
		}
		return ""
	}
	name := ""
	kind := at(1)
	if id := r.Header("dapr-app-id"); len(id) > 0 && !strings.HasPrefix(path, "/v1.0") {
		// The dapr-app-id header form: the whole path is the method.
		kind = "invoke"
		seg = append([]string{"v1.0", "invoke", string(id), "method"}, seg...)
	}
	switch kind {
	case "state", "secrets", "bindings":
		attrs = append(attrs,
			attribute.String("db.system", kind),
			attribute.String("db.name", at(2)),
			attribute.String("db.statement", api),
			attribute.String("db.connection_string", kind))
	case "invoke":
		id := at(2)
		method := ""
		if len(seg) > 4 {
			method = strings.Join(seg[4:], "/")
		}
		name = "CallLocal/" + id + "/" + method
		attrs = append(attrs,
			attribute.String("rpc.service", "ServiceInvocation"),
			attribute.String("net.peer.name", id))
	case "publish":
		// /v1.0/publish/{pubsub}/{topic} or
		// /v1.0-alpha1/publish/bulk/{pubsub}/{topic}: daprd's attribute is
		// the topic route parameter.
		first := 3
		if at(2) == "bulk" && strings.HasSuffix(at(0), "alpha1") {
			first = 4
		}
		topic := ""
		if len(seg) > first {
			topic = strings.Join(seg[first:], "/")
		}
		attrs = append(attrs,
			attribute.String("messaging.system", "pubsub"),
			attribute.String("messaging.destination", topic),
			attribute.String("messaging.destination_kind", "topic"))
	}
	attrs = append(attrs,
		attribute.String("dapr.protocol", "http"),
		attribute.String("dapr.api", api),
		attribute.String("dapr.status_code", strconv.Itoa(status)))
	return name, attrs
}

// StartDelivery starts daprd's span for a pub/sub delivery ("pubsub/<topic>",
// kind client) under the event's traceparent, and returns the traceparent
// to send to the app and the function that ends the span.
func (t *Tracer) StartDelivery(ctx context.Context, topic string, traceparent, tracestate []byte) ([]byte, func(err error)) {
	ctx = remote(ctx, traceparent, tracestate)
	_, span := t.tr.Start(ctx, "pubsub/"+topic, trace.WithSpanKind(trace.SpanKindClient))
	if span.SpanContext().IsSampled() {
		span.SetAttributes(
			attribute.String("messaging.system", "pubsub"),
			attribute.String("messaging.destination", topic),
			attribute.String("messaging.destination_kind", "topic"))
	}
	tp := appendSpan(make([]byte, 0, TraceParentLen), span.SpanContext())
	return tp, func(err error) {
		if err != nil {
			span.SetStatus(otelcodes.Error, err.Error())
		}
		span.End()
	}
}

// ErrDelivery marks a delivery the app did not take.
var ErrDelivery = errors.New("the app did not take the event")
