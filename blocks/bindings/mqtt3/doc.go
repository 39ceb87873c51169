// Package mqtt3 is bindings.mqtt3: an input and output binding over an MQTT
// 3.1.1 broker (github.com/eclipse/paho.mqtt.golang), with daprd's
// metadata (url, topic, consumerID, retain, cleanSession,
// backOffMaxRetries, caCert, clientCert, clientKey; qos is ignored: always
// 1, as daprd) and client ids (consumerID + "-producer" / "-consumer").
//
// Output (create) publishes the request's data at QoS 1 to metadata
// "topic" or the component's topic. Input subscribes at QoS 1 with
// automatic acknowledgement off: a message is acknowledged (PUBACK) only
// once the app answered 2xx. A failed delivery is retried in process every
// 5 s, backOffMaxRetries times (-1: until it succeeds), as daprd; a message
// still failed is left unacknowledged, so a broker that keeps the session
// (cleanSession false) delivers it again when the consumer reconnects.
//
// Both clients connect and reconnect in the background: a broker that is
// down at startup fails publishes and healthz until it answers.
//
// Buffer lifetimes: Invoke hands req.Data to paho, which may keep it until
// the publish completes; the request's data is the block's own fresh copy.
// Input events get a copy of the message payload.
package mqtt3
