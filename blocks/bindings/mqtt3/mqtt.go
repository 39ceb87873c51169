package mqtt3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/skiffd/skiff/blocks/bindings"
)

// daprd's constants.
const (
	qos         = 1
	defaultWait = 10 * time.Second
)

// RetryInterval is the wait between deliveries of a message the app
// failed (daprd's constant 5 s backoff). A variable for tests.
var RetryInterval = 5 * time.Second

// Options are the parsed component metadata.
type Options struct {
	URL               string
	Topic             string
	ClientID          string
	Retain            bool
	CleanSession      bool
	BackOffMaxRetries int
	CACert            string
	ClientCert        string
	ClientKey         string
}

// Parse reads daprd's metadata, with its errors.
func Parse(md map[string]string) (Options, error) {
	var o Options
	get := func(k string) string { v, _ := bindings.Lookup(md, k); return v }
	boolean := func(k string) (bool, error) {
		v := get(k)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("invalid %s %q: %w", k, v, err)
		}
		return b, nil
	}
	o.URL, o.Topic, o.ClientID = get("url"), get("topic"), get("consumerID")
	var err error
	if o.Retain, err = boolean("retain"); err != nil {
		return o, err
	}
	if o.CleanSession, err = boolean("cleanSession"); err != nil {
		return o, err
	}
	if v := get("backOffMaxRetries"); v != "" {
		if o.BackOffMaxRetries, err = strconv.Atoi(v); err != nil {
			return o, fmt.Errorf("invalid backOffMaxRetries %q: %w", v, err)
		}
	}
	o.CACert, o.ClientCert, o.ClientKey = get("caCert"), get("clientCert"), get("clientKey")
	switch {
	case o.URL == "":
		return o, errors.New("missing url")
	case o.Topic == "":
		return o, errors.New("missing topic")
	case o.ClientID == "":
		return o, errors.New("missing consumerID")
	case o.CACert != "" && !validPEM(o.CACert):
		return o, errors.New("invalid ca certificate")
	case o.ClientCert != "" && !validPEM(o.ClientCert):
		return o, errors.New("invalid client certificate")
	case o.ClientKey != "" && !validPEM(o.ClientKey):
		return o, errors.New("invalid client certificate key")
	}
	if _, err := url.Parse(o.URL); err != nil {
		return o, err
	}
	return o, nil
}

func validPEM(v string) bool {
	b, _ := pem.Decode([]byte(v))
	return b != nil
}

// Binding is one bindings.mqtt3 component.
type Binding struct {
	name string
	opt  Options
	log  *slog.Logger

	producer paho.Client
	mu       sync.Mutex  // guards consumer; closed flips and wg.Add happen under it
	consumer paho.Client // set by Read
	reading  atomic.Bool
	closeCh  chan struct{}
	closed   atomic.Bool
	wg       sync.WaitGroup
}

// New parses the metadata and starts the producer's connection in the
// background.
func New(name string, md map[string]string, log *slog.Logger) (*Binding, error) {
	opt, err := Parse(md)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	b := &Binding{name: name, opt: opt, log: log, closeCh: make(chan struct{})}
	po, err := b.clientOptions(opt.ClientID + "-producer")
	if err != nil {
		return nil, err
	}
	b.producer = paho.NewClient(po)
	b.producer.Connect() // retried in the background (ConnectRetry)
	return b, nil
}

func (b *Binding) clientOptions(clientID string) (*paho.ClientOptions, error) {
	u, err := url.Parse(b.opt.URL)
	if err != nil {
		return nil, err
	}
	scheme := u.Scheme
	switch scheme {
	case "mqtt":
		scheme = "tcp"
	case "mqtts", "tcps", "tls":
		scheme = "ssl"
	}
	o := paho.NewClientOptions().
		AddBroker(scheme + "://" + u.Host).
		SetClientID(clientID).
		SetCleanSession(b.opt.CleanSession).
		SetOrderMatters(false). // handlers block on the app
		SetAutoAckDisabled(true).
		SetResumeSubs(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(5 * time.Second).
		SetConnectTimeout(defaultWait)
	if u.User != nil {
		o.SetUsername(u.User.Username())
		if p, ok := u.User.Password(); ok && p != "" {
			o.SetPassword(p)
		}
	}
	tc := &tls.Config{}
	if b.opt.ClientCert != "" && b.opt.ClientKey != "" {
		cert, err := tls.X509KeyPair([]byte(b.opt.ClientCert), []byte(b.opt.ClientKey))
		if err != nil {
			return nil, fmt.Errorf("unable to load client certificate and key pair: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if b.opt.CACert != "" {
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM([]byte(b.opt.CACert)) {
			return nil, errors.New("unable to load CA certificate")
		}
	}
	o.SetTLSConfig(tc)
	o.OnConnectionLost = func(_ paho.Client, err error) {
		b.log.Warn("bindings.mqtt3: connection to the broker lost; reconnecting", "binding", b.name, "clientID", clientID, "error", err)
	}
	return o, nil
}

// Operations: create (publish).
func (b *Binding) Operations() []string { return []string{bindings.OpCreate} }

// Ready is nil while the connections are open, else why not (healthz).
func (b *Binding) Ready() error {
	if b.closed.Load() {
		return errors.New("mqtt3 binding: closed")
	}
	if !b.producer.IsConnectionOpen() {
		return fmt.Errorf("mqtt3 binding: not connected to the MQTT broker at %s", b.opt.URL)
	}
	b.mu.Lock()
	c := b.consumer
	b.mu.Unlock()
	if c != nil && !c.IsConnectionOpen() {
		return fmt.Errorf("mqtt3 binding: consumer not connected to the MQTT broker at %s", b.opt.URL)
	}
	return nil
}

// Invoke publishes req.Data at QoS 1. A publish is tried 3 more times
// 200 ms apart, as daprd does, so that a reconnect in progress does not
// fail it.
func (b *Binding) Invoke(ctx context.Context, req *bindings.InvokeRequest) (*bindings.InvokeResponse, error) {
	topic := req.Metadata["topic"]
	if topic == "" {
		topic = b.opt.Topic
	}
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("failed to publish: %w", ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
		if err = b.publish(ctx, topic, req.Data); err == nil {
			return nil, nil
		}
	}
	return nil, err
}

func (b *Binding) publish(ctx context.Context, topic string, data []byte) error {
	if b.closed.Load() {
		return errors.New("failed to publish: mqtt client closed")
	}
	if !b.producer.IsConnectionOpen() {
		return fmt.Errorf("failed to publish: not connected to the MQTT broker at %s", b.opt.URL)
	}
	tok := b.producer.Publish(topic, qos, b.opt.Retain, data)
	var err error
	select {
	case <-tok.Done():
		err = tok.Error()
	case <-b.closeCh:
		err = errors.New("mqtt client closed")
	case <-time.After(defaultWait):
		err = errors.New("mqtt client timeout")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("failed to publish: %w", err)
	}
	return nil
}

// Read connects the consumer (in the background) and delivers every
// message of the topic to h, acknowledging it once h succeeded.
func (b *Binding) Read(ctx context.Context, h bindings.Handler) error {
	if b.closed.Load() {
		return errors.New("error: binding is closed")
	}
	if !b.reading.CompareAndSwap(false, true) {
		return errors.New("the subscription is already active")
	}
	o, err := b.clientOptions(b.opt.ClientID + "-consumer")
	if err != nil {
		return err
	}
	handler := b.handle(ctx, h)
	topic := b.opt.Topic
	// Subscribe again on every (re)connection: with a clean session the
	// broker forgot the subscription.
	o.OnConnect = func(c paho.Client) {
		tok := c.Subscribe(topic, qos, handler)
		var err error
		select {
		case <-tok.Done():
			err = tok.Error()
		case <-time.After(defaultWait):
			err = errors.New("timed out waiting for subscription to complete")
		}
		if err != nil {
			b.log.Error("bindings.mqtt3: could not subscribe", "binding", b.name, "topic", topic, "error", err)
		}
	}
	// With a persistent session the broker resends unacknowledged messages
	// right after CONNACK, before OnConnect's Subscribe has registered its
	// route: without a default handler paho would drop them unacknowledged
	// until the next reconnect. This client reads only this topic.
	o.SetDefaultPublishHandler(handler)
	c := paho.NewClient(o)
	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		return errors.New("error: binding is closed")
	}
	b.consumer = c
	b.wg.Add(1)
	b.mu.Unlock()
	c.Connect() // retried in the background (ConnectRetry)
	go func() {
		defer b.wg.Done()
		select {
		case <-ctx.Done():
		case <-b.closeCh:
		}
		// No unsubscribe: the broker keeps the session's unacknowledged
		// messages for the next connection.
		c.Disconnect(200)
	}()
	return nil
}

// handle delivers one message with daprd's retries and acknowledges it
// only after the app took it.
func (b *Binding) handle(ctx context.Context, h bindings.Handler) paho.MessageHandler {
	return func(_ paho.Client, m paho.Message) {
		// Counted under mu so that no handler starts once Close waits.
		b.mu.Lock()
		if b.closed.Load() {
			b.mu.Unlock()
			return
		}
		b.wg.Add(1)
		b.mu.Unlock()
		defer b.wg.Done()
		ev := &bindings.ReadResponse{
			Data:     append([]byte(nil), m.Payload()...),
			Metadata: map[string]string{"topic": m.Topic()},
		}
		for attempt := 0; ; attempt++ {
			if _, err := h(ctx, ev); err == nil {
				m.Ack()
				if attempt > 0 {
					b.log.Info("bindings.mqtt3: message processed after it previously failed", "binding", b.name, "topic", m.Topic(), "id", m.MessageID())
				}
				return
			} else if b.opt.BackOffMaxRetries >= 0 && attempt >= b.opt.BackOffMaxRetries {
				b.log.Error("bindings.mqtt3: message not processed; left unacknowledged for redelivery", "binding", b.name, "topic", m.Topic(), "id", m.MessageID(), "error", err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-b.closeCh:
				return
			case <-time.After(RetryInterval):
			}
		}
	}
}

// Close disconnects both clients.
func (b *Binding) Close() error {
	b.mu.Lock()
	first := b.closed.CompareAndSwap(false, true)
	b.mu.Unlock()
	if !first {
		return nil
	}
	close(b.closeCh)
	b.producer.Disconnect(200)
	b.wg.Wait()
	return nil
}
