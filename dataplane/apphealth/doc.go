// Package apphealth probes the app's health as daprd does with
// --enable-app-health-check and gates the deliveries that must pause while
// the app is unhealthy.
//
// A Monitor owns the health status: it starts unhealthy (daprd's initial
// failure count equals the threshold), one successful probe makes it
// healthy, and threshold consecutive failures make it unhealthy again. The
// probe is an HTTP GET of --app-health-check-path through the app channel;
// a 2xx answer is a success, anything else (status, timeout, connection
// error) a failure.
//
// Gate wraps the app channel for pub/sub delivery and input bindings: each
// call waits, before it is sent, until the app is healthy, so a message
// held by a paused delivery is neither acknowledged nor dropped; it goes out
// when the app recovers. Service invocation does not wait: it asks Healthy
// and fails at once, as daprd does.
//
// Buffers: the probe's request and response are local to one probe; Gate
// passes the caller's request and response through untouched.
package apphealth
