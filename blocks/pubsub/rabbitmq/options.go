package rabbitmq

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/skiffd/skiff/blocks/pubsub/internal/mdutil"
)

// Options are the parsed metadata, with daprd's names and defaults (those
// of its code where its documentation differs: durable is true).
type Options struct {
	URL              string // connectionString (or host), else built from protocol/hostname/username/password
	Protocol         string // amqp or amqps: the URL's scheme
	ConsumerID       string
	Durable          bool // true
	DeleteWhenUnused bool // true
	AutoAck          bool
	RequeueInFailure bool
	EnableDeadLetter bool
	PublisherConfirm bool
	Parallel         bool // concurrencyMode: parallel (daprd's default) or single
	DeliveryMode     uint8
	PrefetchCount    int
	ReconnectWait    time.Duration // 3s
	ExchangeKind     string        // fanout
	MaxLen           int64
	MaxLenBytes      int64
	TTL              time.Duration // ttlInSeconds / ttl: default message expiration…
	HasTTL           bool          // …when set (0 is a valid expiration)
	ClientName       string
	HeartBeat        time.Duration // 10s
	// TLS: PEM blocks, used when the protocol is amqps.
	CACert, ClientCert, ClientKey string
	SaslExternal                  bool
}

// ParseOptions reads the metadata.
func ParseOptions(md map[string]string) (Options, error) {
	m := mdutil.MD{M: md, What: "pubsub.rabbitmq"}
	o := Options{
		URL: m.Get("connectionString"), ConsumerID: m.Get("consumerID"), ClientName: m.Get("clientName"),
		ExchangeKind: m.Get("exchangeKind"),
		CACert:       m.Get("caCert"), ClientCert: m.Get("clientCert"), ClientKey: m.Get("clientKey"),
	}
	if o.URL == "" {
		o.URL = m.Get("host") // daprd's deprecated name
	}
	if err := o.connectionURL(m); err != nil {
		return o, err
	}
	if o.ExchangeKind == "" {
		o.ExchangeKind = amqp.ExchangeFanout
	}
	switch o.ExchangeKind {
	case amqp.ExchangeFanout, amqp.ExchangeTopic, amqp.ExchangeDirect, amqp.ExchangeHeaders, "x-consistent-hash":
	default:
		return o, fmt.Errorf("pubsub.rabbitmq: exchangeKind %q: want fanout, topic, direct, headers or x-consistent-hash", o.ExchangeKind)
	}
	var err error
	for _, b := range []struct {
		name string
		def  bool
		dst  *bool
	}{
		{"durable", true, &o.Durable},
		{"deletedWhenUnused", true, &o.DeleteWhenUnused},
		{"autoAck", false, &o.AutoAck},
		{"requeueInFailure", false, &o.RequeueInFailure},
		{"enableDeadLetter", false, &o.EnableDeadLetter},
		// true, unlike daprd: a 204 must mean the broker has the message.
		{"publisherConfirm", true, &o.PublisherConfirm},
		{"saslExternal", false, &o.SaslExternal},
	} {
		if *b.dst, err = m.Bool(b.name, b.def); err != nil {
			return o, err
		}
	}
	switch v := m.Get("concurrencyMode"); v {
	case "", "parallel":
		o.Parallel = true
	case "single":
	default:
		return o, fmt.Errorf("pubsub.rabbitmq: concurrencyMode %q: want parallel or single", v)
	}
	n, err := m.Int("deliveryMode", 0)
	if err != nil {
		return o, err
	}
	if n > 2 {
		return o, fmt.Errorf("pubsub.rabbitmq: deliveryMode %d: want 0, 1 (transient) or 2 (persistent)", n)
	}
	o.DeliveryMode = uint8(n)
	if n, err = m.Int("prefetchCount", 0); err != nil {
		return o, err
	}
	if n > 65535 {
		return o, fmt.Errorf("pubsub.rabbitmq: prefetchCount %d: at most 65535", n)
	}
	o.PrefetchCount = int(n)
	// daprd's key is reconnectWaitSeconds; its documentation says
	// reconnectWait. Both: seconds or a Go duration.
	if o.ReconnectWait, err = m.Seconds("reconnectWait", 3*time.Second); err != nil {
		return o, err
	}
	if m.Get("reconnectWaitSeconds") != "" {
		if o.ReconnectWait, err = m.Seconds("reconnectWaitSeconds", 0); err != nil {
			return o, err
		}
	}
	if o.MaxLen, err = m.Int("maxLen", 0); err != nil {
		return o, err
	}
	if o.MaxLenBytes, err = m.Int("maxLenBytes", 0); err != nil {
		return o, err
	}
	ttl, ok, err := parseTTL(m.M)
	if err != nil {
		return o, fmt.Errorf("pubsub.rabbitmq: %w", err)
	}
	o.TTL, o.HasTTL = ttl, ok
	if o.HeartBeat, err = m.Seconds("heartBeat", 10*time.Second); err != nil {
		return o, err
	}
	for name, v := range map[string]string{"caCert": o.CACert, "clientCert": o.ClientCert, "clientKey": o.ClientKey} {
		if v != "" {
			if b, _ := pem.Decode([]byte(v)); b == nil {
				return o, fmt.Errorf("pubsub.rabbitmq: invalid %s: not PEM", name)
			}
		}
	}
	if o.SaslExternal && (o.CACert == "" || o.ClientCert == "" || o.ClientKey == "") {
		return o, errors.New("pubsub.rabbitmq: saslExternal needs caCert, clientCert and clientKey")
	}
	if _, err := o.tlsConfig(); err != nil {
		return o, err
	}
	return o, nil
}

// connectionURL settles URL and Protocol as daprd does: the connection
// string's scheme is the protocol; without one, the URL is built from
// protocol (amqp), hostname (localhost), username and password.
func (o *Options) connectionURL(m mdutil.MD) error {
	proto := m.Get("protocol")
	if o.URL != "" {
		u, err := amqp.ParseURI(o.URL)
		if err != nil {
			return fmt.Errorf("pubsub.rabbitmq: connectionString: %w", err)
		}
		if proto != "" && proto != u.Scheme {
			return fmt.Errorf("pubsub.rabbitmq: protocol %q does not match the connection string's %q", proto, u.Scheme)
		}
		o.Protocol = u.Scheme
		return nil
	}
	if proto == "" {
		proto = "amqp"
	}
	host := m.Get("hostname")
	if host == "" {
		host = "localhost"
	}
	u := url.URL{Scheme: proto, Host: host}
	if user, pass := m.Get("username"), m.Get("password"); user != "" && pass != "" {
		u.User = url.UserPassword(user, pass)
	} else if user != "" {
		u.User = url.User(user)
	}
	if _, err := amqp.ParseURI(u.String()); err != nil {
		return fmt.Errorf("pubsub.rabbitmq: protocol/hostname: %w", err)
	}
	o.URL, o.Protocol = u.String(), proto
	return nil
}

// tlsConfig is the client TLS configuration for amqps: caCert as the only
// trusted root when given, clientCert/clientKey as the client certificate.
// nil for amqp.
func (o *Options) tlsConfig() (*tls.Config, error) {
	if o.Protocol != "amqps" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.ClientCert != "" && o.ClientKey != "" {
		cert, err := tls.X509KeyPair([]byte(o.ClientCert), []byte(o.ClientKey))
		if err != nil {
			return nil, fmt.Errorf("pubsub.rabbitmq: clientCert/clientKey: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.CACert != "" {
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM([]byte(o.CACert)) {
			return nil, errors.New("pubsub.rabbitmq: caCert: no certificate in it")
		}
	}
	return cfg, nil
}

// dialConfig is the AMQP connection configuration: heartbeat, client
// name, TLS and SASL EXTERNAL (the user is the client certificate's).
func (o *Options) dialConfig() (amqp.Config, error) {
	cfg := amqp.Config{Heartbeat: o.HeartBeat, Locale: "en_US", Dial: amqp.DefaultDial(5 * time.Second)}
	if o.ClientName != "" {
		cfg.Properties = amqp.Table{"connection_name": o.ClientName}
	}
	t, err := o.tlsConfig()
	if err != nil {
		return cfg, err
	}
	cfg.TLSClientConfig = t
	if t != nil && o.SaslExternal {
		cfg.SASL = []amqp.Authentication{&amqp.ExternalAuth{}}
	}
	return cfg, nil
}

// parseTTL reads ttl or ttlInSeconds as daprd does: a Go duration or a
// positive number of seconds.
func parseTTL(md map[string]string) (time.Duration, bool, error) {
	v := ""
	for k, x := range md {
		if x != "" && (strings.EqualFold(k, "ttl") || strings.EqualFold(k, "ttlInSeconds")) {
			v = x
			break
		}
	}
	if v == "" {
		return 0, false, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return max(d, 0), true, nil
	}
	s, err := strconv.ParseInt(v, 10, 64)
	if err != nil || s <= 0 {
		return 0, false, fmt.Errorf("ttlInSeconds %q: want a positive number of seconds or a duration", v)
	}
	return time.Duration(min(s, int64(1<<63-1)/int64(time.Second))) * time.Second, true, nil
}
