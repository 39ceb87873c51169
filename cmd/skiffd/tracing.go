package main

import (
	"io"
	"log/slog"
	"time"

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
