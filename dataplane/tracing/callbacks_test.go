package tracing

import (
	"errors"
	"strings"
	"testing"

	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const testParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func attrsOf(sp tracetest.SpanStub) map[string]string {
	m := map[string]string{}
	for _, a := range sp.Attributes {
		m[string(a.Key)] = a.Value.AsString()
	}
	return m
}

// TestInputBindingSpan: daprd's span of an input binding event, named,
// kinded and attributed as daprd's, under the event's traceparent, with
// the app's status.
func TestInputBindingSpan(t *testing.T) {
	tr, exp := newTestTracer(t, sdktrace.AlwaysSample())
	tp, ts, end := tr.StartInputBinding(t.Context(), "orders", []byte(testParent), []byte("k=v"))
	end(503, errors.New("refused"))
	sp := exp.GetSpans()[0]
	if sp.Name != "bindings/orders" || sp.SpanKind != trace.SpanKindClient || sp.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("span %s kind %v parent %s", sp.Name, sp.SpanKind, sp.Parent.SpanID())
	}
	if want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + sp.SpanContext.SpanID().String() + "-01"; string(tp) != want || ts != "k=v" {
		t.Fatalf("traceparent %q tracestate %q, want %q k=v", tp, ts, want)
	}
	for k, v := range map[string]string{"db.name": "orders", "rpc.service": "Dapr", "db.system": "bindings", "db.connection_string": "POST /orders"} {
		if got := attrsOf(sp)[k]; got != v {
			t.Errorf("attribute %s = %q, want %q", k, got, v)
		}
	}
	if sp.Status.Code != otelcodes.Error || sp.Status.Description != "Code(503): Service Unavailable" {
		t.Errorf("status %+v", sp.Status)
	}

	// No traceparent: a new trace; the app not reached: the error.
	tp, _, end = tr.StartInputBinding(t.Context(), "b", nil, nil)
	end(0, errors.New("connection refused"))
	sp = exp.GetSpans()[1]
	if sp.Parent.IsValid() || !strings.Contains(string(tp), sp.SpanContext.TraceID().String()) || sp.Status.Description != "connection refused" {
		t.Fatalf("root span parent %v traceparent %q status %+v", sp.Parent, tp, sp.Status)
	}
	_, _, end = tr.StartInputBinding(t.Context(), "b", nil, nil)
	end(200, nil)
	if st := exp.GetSpans()[2].Status; st.Code != otelcodes.Unset {
		t.Errorf("status of a taken event %+v", st)
	}
}

// TestProducerSpan: a bulk publish entry's span is a producer span named
// by the path, a child of the API span.
func TestProducerSpan(t *testing.T) {
	tr, exp := newTestTracer(t, sdktrace.AlwaysSample())
	c := request(t, "POST /v1.0-alpha1/publish/bulk/ps/orders HTTP/1.1\r\nHost: x\r\ntraceparent: "+testParent+"\r\n\r\n")
	api := tr.Start(c)
	tp1, end1 := tr.StartProducer(string(c.Req.Path()), c.Trace, nil)
	tp2, end2 := tr.StartProducer(string(c.Req.Path()), c.Trace, nil)
	c.SetStatus(500)
	end1(500)
	end2(500)
	tr.Finish(c, api)
	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	apiSpan := spans[2]
	if a := attrsOf(apiSpan); a["messaging.destination"] != "orders" || a["messaging.system"] != "pubsub" {
		t.Errorf("bulk publish API span attributes %v", a)
	}
	for i, tp := range [][]byte{tp1, tp2} {
		sp := spans[i]
		if sp.Name != "/v1.0-alpha1/publish/bulk/ps/orders" || sp.SpanKind != trace.SpanKindProducer || sp.Parent.SpanID() != apiSpan.SpanContext.SpanID() {
			t.Errorf("entry span %s kind %v parent %s (API span %s)", sp.Name, sp.SpanKind, sp.Parent.SpanID(), apiSpan.SpanContext.SpanID())
		}
		if !strings.Contains(string(tp), sp.SpanContext.SpanID().String()) {
			t.Errorf("entry traceparent %q is not its span's", tp)
		}
		if sp.Status.Description != "Code(500): Internal Server Error" {
			t.Errorf("entry status %+v", sp.Status)
		}
	}
}

// TestBaggage: daprd's HTTP baggage handling keeps the well-formed items
// of every baggage header and answers them in the response.
func TestBaggage(t *testing.T) {
	long := "key1=value1,key2=" + strings.Repeat("x", maxBaggageLen-20)
	for in, want := range map[string]string{
		"key1=value1":             "key1=value1",
		"key1=value1,key2=value2": "key1=value1,key2=value2",
		"key1=value1;prop1=propvalue1,key2=value2;prop2=propvalue2": "key1=value1;prop1=propvalue1,key2=value2;prop2=propvalue2",
		"key1=value1%20with%20spaces,key2=value2%2Fwith%2Fslashes":  "key1=value1%20with%20spaces,key2=value2%2Fwith%2Fslashes",
		"invalid-baggage": "",
		"":                "",
		"key1=value1,invalid-format-no-equals,key2=value2":  "key1=value1,key2=value2",
		"key1=value1;prop1=val1,invalid;format,key2=value2": "key1=value1;prop1=val1,key2=value2",
		"k=bad value": "",
		"k=v;p":       "",
		"k@=v":        "",
		long:          long,
	} {
		if got := ValidBaggage([][]byte{[]byte(in)}); got != want {
			t.Errorf("ValidBaggage(%.40q) = %.40q, want %.40q", in, got, want)
		}
	}
	if got := ValidBaggage([][]byte{[]byte("key1=value1"), []byte("key2=value2")}); got != "key1=value1,key2=value2" {
		t.Errorf("two headers: %q", got)
	}

	tr, _ := newTestTracer(t, sdktrace.AlwaysSample())
	c := request(t, "POST /v1.0/invoke/a/method/m HTTP/1.1\r\nHost: x\r\nbaggage: key1=value1\r\nBaggage: bad,key2=value2\r\n\r\n")
	tr.Finish(c, tr.Start(c))
	if h := string(c.Headers()); !strings.Contains(h, "baggage: key1=value1,key2=value2\r\n") {
		t.Errorf("response headers %q", h)
	}
	c = request(t, "POST /v1.0/invoke/a/method/m HTTP/1.1\r\nHost: x\r\nbaggage: invalid\r\n\r\n")
	tr.Finish(c, tr.Start(c))
	if h := strings.ToLower(string(c.Headers())); strings.Contains(h, "baggage") {
		t.Errorf("invalid baggage answered: %q", h)
	}
	// No baggage: the span is the plain one (no wrapper allocated).
	c = request(t, "GET /v1.0/state/s/k HTTP/1.1\r\nHost: x\r\n\r\n")
	s := tr.Start(c)
	if _, ok := s.(*baggageSpan); ok {
		t.Error("a request without baggage got a baggage span")
	}
	tr.Finish(c, s)
}

// TestOffCostsNothing: with sampling rate 0 there is no tracer; a nil
// tracer is what the blocks check, and checking it allocates nothing.
func TestOffCostsNothing(t *testing.T) {
	tr, err := New(Settings{SamplingRate: "0", OtelEndpoint: "127.0.0.1:1", OtelProtocol: "http"}, "app")
	if tr != nil || err != nil {
		t.Fatalf("rate 0 built a tracer: %v %v", tr, err)
	}
}
