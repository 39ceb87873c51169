// Package tracing is skiff's distributed tracing: W3C trace context
// (traceparent, tracestate) parsing and formatting, and spans named and
// attributed as daprd names them, exported through the OpenTelemetry SDK
// (OTLP over gRPC or HTTP, Zipkin, stdout) as Configuration spec.tracing
// asks. Spans: the API span (server hook Start/Finish), pub/sub deliveries
// (StartDelivery, one per event also for bulk subscriptions), input binding
// events (StartInputBinding) and bulk publish entries (StartProducer). With
// tracing on, the API answers the valid items of the caller's W3C baggage
// (ValidBaggage), as daprd's HTTP tracing middleware does.
//
// Cost rule: with samplingRate "0" (or absent) New returns nil and nothing
// in the server, invocation or pub/sub path calls into this package: no
// span objects, no allocation. When tracing is on, a request's traceparent
// is parsed only when the header is present (ParseTraceParent does not
// allocate), and attributes are computed only for sampled spans.
//
// Buffers: ParseTraceParent reads its argument and keeps nothing. The
// server hook (Start/Finish) writes the request's outgoing traceparent into
// router.Ctx.Trace, owned by the Ctx and valid until it is reset; Finish
// reads the request's views, which the server keeps valid until the
// response is encoded.
package tracing
