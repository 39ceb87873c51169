// Package mqtt3 is the pub/sub component "pubsub.mqtt3" (MQTT 3.1.1,
// github.com/eclipse/paho.mqtt.golang) with Dapr's metadata: url,
// consumerID (the MQTT client id), qos (default 1), retain (default false),
// cleanSession (default false: the broker keeps the session and its
// unacknowledged QoS 1 messages across restarts), caCert, clientCert,
// clientKey.
//
// Publish waits for the broker's PUBACK and fails at once while the
// connection is down (paho would otherwise keep the message in memory and
// send it after the caller was told 500). Delivery: paho hands messages to
// a per-topic queue in arrival order (auto-ack disabled); one goroutine per
// topic delivers them one at a time and sends the PUBACK only after the
// handler answered nil. MQTT has no negative acknowledgement, so a refused
// message is retried in place with backoff (daprd leaves it unacknowledged
// until the next reconnect). Subscriptions are renewed on every reconnect.
//
// Buffer ownership: a delivered Message's Data is paho's payload slice,
// valid until the handler returns; Publish hands req.Data to paho, which
// keeps it until the PUBACK.
package mqtt3
