package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/server"
	"github.com/skiffd/skiff/dataplane/tracing"
)

// newTracer builds the tracer of the merged Configuration's spec.tracing;
// nil when the sampling rate is 0 or absent (daprd's default), which keeps
// tracing entirely off the request path.
func newTracer(appID string, conf *resources.Configuration, log *slog.Logger) (*tracing.Tracer, error) {
	spec := conf.Spec.Tracing
	if spec == nil {
		return nil, nil
	}
	s := tracing.Settings{SamplingRate: spec.SamplingRate, Stdout: spec.Stdout}
	if spec.Zipkin != nil {
		s.ZipkinEndpoint = spec.Zipkin.EndpointAddress
	}
	if o := spec.Otel; o != nil {
		s.OtelEndpoint, s.OtelProtocol, s.OtelHeaders = o.EndpointAddress, o.Protocol, o.Headers
		s.OtelSecure = o.IsSecure == nil || *o.IsSecure
		s.OtelTimeout = time.Duration(o.Timeout) * time.Millisecond
	}
	t, err := tracing.New(s, appID)
	if err != nil || t == nil {
		return nil, err
	}
	log.Info("tracing enabled", "samplingRate", spec.SamplingRate, "otel", s.OtelEndpoint, "zipkin", s.ZipkinEndpoint, "stdout", s.Stdout)
	return t, nil
}

// withTracer plugs the tracer into the server and the component set (its
// Close flushes the spans last, after the blocks stopped).
func withTracer(t *tracing.Tracer, scfg *server.Config, cs *componentSet) {
	if t == nil {
		return
	}
	scfg.Tracing = t
	cs.closers = append([]io.Closer{t}, cs.closers...)
}

// deliveryTracer is pub/sub's tracer; a nil interface when tracing is off.
func (e *blockEnv) deliveryTracer() pubsub.DeliveryTracer {
	if e.tracer == nil {
		return nil
	}
	return e.tracer
}

// traceInputs gives each event an input binding delivers daprd's
// "bindings/<name>" span; entries come back unchanged when tracing is off
// (nothing is wrapped, nothing costs anything). Wrap before resiliency
// (wrapInputs) so that one span covers every attempt, as in daprd.
func traceInputs(t *tracing.Tracer, entries []bindings.InputEntry) []bindings.InputEntry {
	if t == nil {
		return entries
	}
	out := append([]bindings.InputEntry(nil), entries...)
	for i := range out {
		out[i].Input = &tracedInput{Input: out[i].Input, t: t, name: out[i].Name}
	}
	return out
}

type tracedInput struct {
	bindings.Input
	t    *tracing.Tracer
	name string
}

// Read starts the span under the event's traceparent metadata (a Kafka or
// HTTP header the component passed on), and the app gets the span's
// traceparent (and tracestate) instead.
func (in *tracedInput) Read(ctx context.Context, h bindings.Handler) error {
	return in.Input.Read(ctx, func(ctx context.Context, ev *bindings.ReadResponse) ([]byte, error) {
		var tp, ts string
		md := make(map[string]string, len(ev.Metadata)+2)
		for k, v := range ev.Metadata {
			switch {
			case strings.EqualFold(k, "traceparent"):
				tp = v
			case strings.EqualFold(k, "tracestate"):
				ts = v
			default:
				md[k] = v
			}
		}
		spanTP, spanTS, end := in.t.StartInputBinding(ctx, in.name, []byte(tp), []byte(ts))
		md["traceparent"] = string(spanTP)
		if spanTS != "" {
			md["tracestate"] = spanTS
		}
		out, err := h(ctx, &bindings.ReadResponse{Data: ev.Data, Metadata: md})
		status := 0
		var se *bindings.AppStatusError
		switch {
		case errors.As(err, &se):
			status = se.Status
		case err == nil:
			status = 200
		}
		end(status, err)
		return out, err
	})
}
