// Package invoke is Dapr's service invocation building block:
// /v1.0/invoke/{appId}/method/{method...} with every HTTP method, plus the
// two other ways daprd accepts to name the target app on any other path: a
// dapr-app-id header, or Basic auth with user "dapr-app-id" and the app id
// as password.
//
// The invocation itself (resolve the target, call the app through
// dataplane/appchannel) is Service.Invoke, usable by the HTTP adapter here
// and a gRPC adapter later. The HTTP adapter is thin: it maps a router.Ctx to
// an appchannel.Request and the appchannel.Response back.
//
// Buffer lifetimes: the handler runs on a worker (route mode Stream) with a
// private copy of the request; views of it are passed to the app channel and
// never kept after the handler returns. Per-call state (request, response,
// copy buffer) is pooled; the app's response is closed before the handler
// returns, small bodies having been copied into the Ctx first.
//
// Resiliency: Config.Policy, when set (a Resiliency document applies to
// our app), is resolved once at startup; calls then run on a worker under
// it (resiliency.go), with a body streamed in kept for replay up to
// Config.ReplayLimit. Without a policy nothing changes on the loop path.
//
// Metrics: calls through appchannel.Client.Do report to the channel's
// Observer; a call the event loop sends (ServeInline) is reported by
// onInlineDone (metrics.go). A call to our own app id is local, so, as in
// daprd, it records no dapr_runtime_service_invocation_* series.
//
// Other app ids (remote.go, with Config.Remote set): the id is resolved
// (dataplane/nameresolution, mDNS in standalone) to its sidecar's internal
// gRPC port and the call goes there as daprd's CallLocal
// (dataplane/internalrpc), always from a worker: ServeInline offloads such a
// call, so the loop path for our own app is unchanged. Without a resiliency
// policy for the target, transport failures are retried as daprd's
// DaprBuiltInServiceRetries; with one, the policy runs each call as for our
// own app. The caller records dapr_runtime_service_invocation_req_sent and
// res_recv; the callee (remote_server.go, CallLocal) records req_recv and
// res_sent, applies access control (blocks/acl: without mTLS only the
// global default action, as daprd) and calls our app over the app channel.
// Bodies on this hop are held whole, bounded by Config.ReplayLimit
// (--max-body-size). Without Remote, any other app id fails as daprd fails
// when it cannot resolve one.
package invoke
