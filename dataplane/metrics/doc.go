// Package metrics owns skiffd's Prometheus metrics: the registry served on
// /metrics (--metrics-port), daprd's HTTP API server metrics
// (dapr_http_server_request_count, dapr_http_server_latency,
// dapr_http_server_request_bytes, dapr_http_server_response_bytes) with
// daprd's names, labels and buckets, the Go runtime and process collectors,
// and a small API other packages use to add their own.
//
// # Recording HTTP API requests
//
// The data plane calls HTTPServer.Observe once per request, when its response
// is complete. Observe resolves the label handles (a counter and a histogram
// observer) once per distinct label set and caches them in a copy-on-write
// map, so a request whose labels were seen before costs two atomic updates
// and no allocation. A nil *HTTPServer means metrics are off: the server
// checks for nil and does no work at all, not even reading the clock.
//
// Labels follow daprd (Configuration spec.metric.http):
//   - low cardinality (increasedCardinality: false): app_id, method = daprd's
//     endpoint name ("GetState", "SaveState", "InvokeService/<id>", …; a skiff
//     route daprd does not name uses its route Name), status;
//   - increasedCardinality: true (daprd's default when unset): app_id,
//     method = the HTTP verb, path = the path normalised as daprd does (state
//     and secrets keep the store but drop the key), status;
//   - pathMatching patterns ("/v1.0/state/{store}/{key}", Go ServeMux style)
//     replace a matching path by its pattern; in low cardinality they add the
//     path label and an unmatched path reads "_", as in daprd;
//   - excludeVerbs: true empties the method label when a path label is used.
//
// The bytes histograms carry app_id only, as daprd's do.
//
// # Other daprd families
//
// AppChannel records the calls the sidecar makes to its app
// (dapr_http_client_sent_bytes, _received_bytes, _roundtrip_latency,
// _completed_count; labels as the server's: app_id and status, plus method
// and path in increased cardinality or with pathMatching) and the app
// health probes (dapr_http_healthprobes_completed_count,
// _roundtrip_latency{app_id, status}); dataplane/appchannel reports to it
// through its Observer. ErrorCodes records dapr_error_code_total{app_id,
// category, error_code} (spec.metric.recordErrorCodes; dataplane/apierr
// reports to it). ServiceInvocation has daprd's
// dapr_runtime_service_invocation_* families for calls between sidecars
// (none yet: a call to our own app id is local, and daprd records nothing
// for it). Latencies of these families are whole milliseconds, as daprd's.
//
// Configuration spec.metric.rules (Options.Rules) rewrite label values with
// regular expressions, per metric and label, as daprd: every matching
// expression's ReplaceAllString runs over the value, in the order of the
// replacements' names. They run when a label set is first resolved, so a
// request whose raw labels were seen before costs nothing more.
//
// # Buffer lifetime
//
// Observe reads Request's byte slices (method, path) only during the call;
// the label values it keeps are copies made the first time a label set is
// seen. Callers may reuse their buffers as soon as Observe returns.
//
// # Registry API for other packages
//
// Metrics.Registerer returns the prometheus.Registerer behind /metrics.
// Blocks add their metrics through the helpers, which register on it and
// prefix nothing (pass daprd's full name, e.g. "dapr_component_pubsub_ingress_count"):
//
//	c := m.CounterVec("dapr_component_state_count", "…", "app_id", "component", "operation")
//	get := c.WithLabelValues(appID, "statestore", "get") // once, at start-up
//	get.Inc()                                              // per call: no allocation
//
// LatencyBuckets gives the configured latency buckets (pass them to
// HistogramVec so every latency family uses the same ones, as daprd), and
// Relabel applies spec.metric.rules to a label set: call it when resolving
// the label set, with the metric's full name.
//
// Resolve label handles once (WithLabelValues at start-up, or cache them per
// component) and keep them: WithLabelValues on every request allocates. The
// helpers work on a Metrics built with metrics disabled too (the collectors
// exist but are not exported), so callers need no nil checks; a nil *Metrics
// is also accepted and returns unregistered collectors.
package metrics
