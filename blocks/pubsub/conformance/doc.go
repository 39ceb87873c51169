// Package conformance is the pub/sub conformance suite: the behaviours
// every pubsub.PubSub must have (round trip, at-least-once with forced
// redelivery, per-topic order where the broker promises it, bulk publish,
// close), run by this package's tests against the in-memory component and
// every broker on the live services (SKIFF_REDIS_ADDR, SKIFF_NATS_URL, …).
// Each test uses its own topic and the harness cleans it up. With CI=true a
// missing service fails the test instead of skipping it.
//
// Buffers: the suite copies every delivered Message.Data it keeps (the
// component owns it only until the handler returns).
package conformance
