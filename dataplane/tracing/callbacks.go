package tracing

import (
	"context"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// StartInputBinding starts daprd's span for an input binding event sent to
// the app ("bindings/<name>", kind client) under the event's traceparent
// (its metadata's, if any). It returns the traceparent and tracestate to
// send to the app and the function that ends the span: status is the
// app's HTTP status (0 when the app was not reached, then err is the
// reason). The span covers every attempt resiliency makes, as in daprd.
func (t *Tracer) StartInputBinding(ctx context.Context, name string, traceparent, tracestate []byte) (tp []byte, ts string, end func(status int, err error)) {
	ctx = remote(ctx, traceparent, tracestate)
	_, span := t.tr.Start(ctx, "bindings/"+name, trace.WithSpanKind(trace.SpanKindClient))
	sc := span.SpanContext()
	tp = appendSpan(make([]byte, 0, TraceParentLen), sc)
	if s := sc.TraceState().String(); len(s) <= maxTraceStateLen {
		ts = s
	}
	return tp, ts, func(status int, err error) {
		if span.SpanContext().IsSampled() {
			// daprd's ConstructInputBindingSpanAttributes, with the
			// url it passes for an HTTP app: "POST /<binding name>".
			span.SetAttributes(
				attribute.String("db.name", name),
				attribute.String("rpc.service", "Dapr"),
				attribute.String("db.system", "bindings"),
				attribute.String("db.connection_string", "POST /"+name))
		}
		switch {
		case status > 0:
			setStatus(span, status)
		case err != nil:
			span.SetStatus(otelcodes.Error, err.Error())
		}
		span.End()
	}
}

// StartProducer starts the span daprd gives each entry of a bulk publish:
// named name (the request's path), kind producer, a child of the API span
// whose traceparent is parent. It returns the span's traceparent, which the
// entry's CloudEvent carries, and the function that ends the span with the
// request's HTTP status.
func (t *Tracer) StartProducer(name string, parent, tracestate []byte) ([]byte, func(status int)) {
	ctx := remote(context.Background(), parent, tracestate)
	_, span := t.tr.Start(ctx, name, trace.WithSpanKind(trace.SpanKindProducer))
	tp := appendSpan(make([]byte, 0, TraceParentLen), span.SpanContext())
	return tp, func(status int) {
		setStatus(span, status)
		span.End()
	}
}

// maxTraceStateLen is the longest tracestate daprd passes on.
const maxTraceStateLen = 512

// maxBaggageLen is daprd's MaxBaggageLength (the W3C limit, 8192 bytes),
// for one baggage item.
const maxBaggageLen = 8192

// ValidBaggage is daprd's HTTP baggage handling: the items of the baggage
// header values (several headers are one list) that are well formed
// (key=value, optional ;key=value properties, token keys), joined with ",",
// in order; the others are dropped. "" when none is valid.
func ValidBaggage(values [][]byte) string {
	var b strings.Builder
	for _, v := range values {
		for _, item := range strings.Split(string(v), ",") {
			item = strings.TrimSpace(item)
			if item == "" || !validBaggageItem(item) {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(item)
		}
	}
	return b.String()
}

// validBaggageItem is daprd's IsValidBaggage for one list member.
func validBaggageItem(item string) bool {
	if len(item) > maxBaggageLen {
		return false
	}
	kv, props, _ := strings.Cut(item, ";")
	rk, rv, ok := strings.Cut(kv, "=")
	k, v := strings.TrimSpace(rk), strings.TrimSpace(rv)
	if !ok || k == "" || v == "" || !isBaggageToken(k) {
		return false
	}
	// daprd keeps an item only if OTel makes a member of it (untrimmed):
	// that checks the value's encoding.
	if _, err := baggage.NewMember(rk, rv); err != nil {
		return false
	}
	if props == "" {
		return true
	}
	for _, p := range strings.Split(props, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		pk, pv, ok := strings.Cut(p, "=")
		pk, pv = strings.TrimSpace(pk), strings.TrimSpace(pv)
		if !ok || pk == "" || pv == "" || !isBaggageToken(pk) {
			return false
		}
	}
	return true
}

// isBaggageToken is daprd's isValidToken: letters, digits, '-' and '_'.
func isBaggageToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
