package mqtt3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/skiffd/skiff/blocks/pubsub/internal/lifecycle"
	"log/slog"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/internal/mdutil"
)

// Options are the parsed metadata.
type Options struct {
	URL          string
	ConsumerID   string
	QoS          byte
	Retain       bool
	CleanSession bool
	TLS          *tls.Config
}

// ParseOptions reads the metadata.
func ParseOptions(md map[string]string) (Options, error) {
	m := mdutil.MD{M: md, What: "pubsub.mqtt3"}
	o := Options{URL: m.Get("url"), ConsumerID: m.Get("consumerID")}
	if o.URL == "" {
		return o, errors.New("pubsub.mqtt3: url is empty")
	}
	if o.ConsumerID == "" {
		return o, errors.New("pubsub.mqtt3: consumerID is empty")
	}
	q, err := m.Int("qos", 1)
	if err != nil || q > 2 {
		return o, fmt.Errorf("pubsub.mqtt3: qos %q: want 0, 1 or 2", m.Get("qos"))
	}
	o.QoS = byte(q)
	if o.Retain, err = m.Bool("retain", false); err != nil {
		return o, err
	}
	if o.CleanSession, err = m.Bool("cleanSession", false); err != nil {
		return o, err
	}
	ca, cert, key := m.Get("caCert"), m.Get("clientCert"), m.Get("clientKey")
	if ca != "" || cert != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if ca != "" {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM([]byte(ca)) {
				return o, errors.New("pubsub.mqtt3: caCert: no PEM certificate")
			}
			cfg.RootCAs = pool
		}
		if cert != "" {
			pair, err := tls.X509KeyPair([]byte(cert), []byte(key))
			if err != nil {
				return o, fmt.Errorf("pubsub.mqtt3: clientCert/clientKey: %w", err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		o.TLS = cfg
	}
	return o, nil
}

// MQTT is the component.
type MQTT struct {
	name string
	opt  Options
	log  *slog.Logger
	c    mqtt.Client

	mu     sync.Mutex
	topics map[string]*topic
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

type topic struct {
	name string
	q    chan mqtt.Message
}

// queueDepth bounds the messages waiting for the app per topic; when it is
// full paho's reader waits (back-pressure towards the broker).
const queueDepth = 1024

// New builds the component and connects in the background.
func New(name string, md map[string]string, log *slog.Logger) (*MQTT, error) {
	o, err := ParseOptions(md)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	m := &MQTT{name: name, opt: o, log: log, topics: map[string]*topic{}, stop: make(chan struct{})}
	co := mqtt.NewClientOptions().AddBroker(o.URL).SetClientID(o.ConsumerID).
		SetCleanSession(o.CleanSession).SetOrderMatters(true).SetAutoAckDisabled(true).
		SetConnectRetry(true).SetConnectRetryInterval(time.Second).SetAutoReconnect(true).
		SetMaxReconnectInterval(5 * time.Second).SetConnectTimeout(5 * time.Second).
		SetKeepAlive(30 * time.Second).SetResumeSubs(false).
		SetOnConnectHandler(m.onConnect).
		// Messages the broker resends right after CONNACK arrive before
		// onConnect's Subscribe registers a route; route them by topic.
		SetDefaultPublishHandler(m.route).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("pubsub.mqtt3: connection lost; reconnecting", "component", name, "error", err)
		})
	if o.TLS != nil {
		co.SetTLSConfig(o.TLS)
	}
	m.c = mqtt.NewClient(co)
	m.c.Connect() // completes in the background (ConnectRetry)
	return m, nil
}

// onConnect (re)subscribes every topic: a clean session forgets them.
func (m *MQTT) onConnect(c mqtt.Client) {
	m.mu.Lock()
	var filters = map[string]byte{}
	for name := range m.topics {
		filters[name] = m.opt.QoS
	}
	m.mu.Unlock()
	if len(filters) == 0 {
		return
	}
	tok := c.SubscribeMultiple(filters, m.route)
	go func() {
		if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
			m.log.Warn("pubsub.mqtt3: resubscribe failed", "component", m.name, "error", tok.Error())
		}
	}()
}

// route is paho's message handler: it queues the message for its topic's
// delivery goroutine (in arrival order: OrderMatters).
func (m *MQTT) route(_ mqtt.Client, msg mqtt.Message) {
	m.mu.Lock()
	t := m.topics[msg.Topic()]
	m.mu.Unlock()
	if t == nil {
		return // not ours (any more): left unacknowledged
	}
	select {
	case t.q <- msg:
	case <-m.stop:
	}
}

// Ready is the healthz probe: nil while connected.
func (m *MQTT) Ready() error {
	if m.c.IsConnectionOpen() {
		return nil
	}
	return fmt.Errorf("pubsub.mqtt3 %s: not connected to %s", m.name, m.opt.URL)
}

// Features: none.
func (m *MQTT) Features() pubsub.Features { return 0 }

func (m *MQTT) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Publish sends the message and waits for the broker's acknowledgement.
func (m *MQTT) Publish(ctx context.Context, req *pubsub.PublishRequest) error {
	if m.isClosed() {
		return pubsub.ErrClosed
	}
	if !m.c.IsConnectionOpen() {
		return fmt.Errorf("publish: mqtt: not connected to %s", m.opt.URL)
	}
	retain := m.opt.Retain
	for k, v := range req.Metadata {
		if strings.EqualFold(k, "retain") {
			retain = v == "true"
		}
	}
	tok := m.c.Publish(req.Topic, m.opt.QoS, retain, req.Data)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish: mqtt: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("publish: mqtt: %w", ctx.Err())
	case <-time.After(10 * time.Second):
		return errors.New("publish: mqtt: no acknowledgement from the broker within 10s")
	}
}

// Subscribe subscribes the topic (waiting for the broker's SUBACK when
// connected) and starts its delivery goroutine.
func (m *MQTT) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, h pubsub.Handler) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return pubsub.ErrClosed
	}
	name := strings.Clone(req.Topic)
	if m.topics[name] != nil {
		m.mu.Unlock()
		return fmt.Errorf("pubsub.mqtt3 %s: topic %s already has a subscription", m.name, name)
	}
	t := &topic{name: name, q: make(chan mqtt.Message, queueDepth)}
	m.topics[name] = t
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		m.deliver(ctx, t, h)
	}()
	if m.c.IsConnectionOpen() {
		tok := m.c.Subscribe(name, m.opt.QoS, m.route)
		if !tok.WaitTimeout(10 * time.Second) {
			m.log.Warn("pubsub.mqtt3: no SUBACK yet; the subscription is renewed on reconnect", "component", m.name, "topic", name)
		} else if err := tok.Error(); err != nil {
			return fmt.Errorf("pubsub.mqtt3 %s: subscribe %s: %w", m.name, name, err)
		}
	}
	return nil
}

func (m *MQTT) deliver(ctx context.Context, t *topic, h pubsub.Handler) {
	for {
		var msg mqtt.Message
		select {
		case msg = <-t.q:
		case <-ctx.Done():
			return
		case <-m.stop:
			return
		}
		pm := pubsub.Message{Topic: t.name, Data: msg.Payload()}
		backoff := 50 * time.Millisecond
		for {
			if err := h(ctx, &pm); err == nil {
				msg.Ack()
				break
			}
			if !lifecycle.Sleep(ctx, m.stop, backoff) {
				// Not acknowledged: with a persistent session the broker
				// sends it again after the next connect.
				return
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// Close stops delivery and disconnects.
func (m *MQTT) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.stop)
	m.mu.Unlock()
	m.wg.Wait()
	m.c.Disconnect(250)
	return nil
}
