// Package conformance is the bindings conformance suite: checks every
// binding component with a backend must pass (operations listed, a
// backend that is down answers errors and a not-ready Ready instead of
// hanging or crashing, Close is idempotent, output round trips, input
// delivery and redelivery), run by this package's tests against
// bindings.redis, bindings.postgresql and bindings.mqtt3 on the live
// services (SKIFF_REDIS_ADDR, SKIFF_PG_URL, SKIFF_MQTT_ADDR). Each test uses
// its own keys, tables and topics and removes them. With CI=true a missing
// service fails the test; otherwise it is skipped, saying which service.
//
// It keeps no request buffers: requests are built fresh per call.
package conformance
