package rabbitmq

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/skiffd/skiff/blocks/pubsub"
)

func TestParseOptions(t *testing.T) {
	o, err := ParseOptions(map[string]string{"connectionString": "amqp://localhost", "deliveryMode": "2", "prefetchCount": "10", "requeueInFailure": "true", "reconnectWait": "1s"})
	if err != nil {
		t.Fatal(err)
	}
	if o.DeliveryMode != 2 || o.PrefetchCount != 10 || !o.RequeueInFailure || o.ReconnectWait != time.Second {
		t.Fatalf("%+v", o)
	}
	// daprd's defaults (its code's: durable is true there too), except
	// publisherConfirm (true: a 204 means the broker has the message).
	if !o.Durable || !o.DeleteWhenUnused || o.AutoAck || o.EnableDeadLetter || !o.PublisherConfirm || !o.Parallel ||
		o.ExchangeKind != "fanout" || o.HeartBeat != 10*time.Second || o.HasTTL || o.Protocol != "amqp" {
		t.Fatalf("defaults: %+v", o)
	}
	o, err = ParseOptions(map[string]string{
		"host": "amqp://h", "durable": "false", "enableDeadLetter": "true", "publisherConfirm": "false",
		"concurrencyMode": "single", "reconnectWaitSeconds": "5", "heartBeat": "2", "ttlInSeconds": "60",
		"maxLen": "3000", "maxLenBytes": "10485760", "exchangeKind": "topic", "clientName": "me",
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.URL != "amqp://h" || o.Durable || !o.EnableDeadLetter || o.PublisherConfirm || o.Parallel || o.ReconnectWait != 5*time.Second ||
		o.HeartBeat != 2*time.Second || o.TTL != time.Minute || o.MaxLen != 3000 || o.MaxLenBytes != 10485760 || o.ExchangeKind != "topic" || o.ClientName != "me" {
		t.Fatalf("%+v", o)
	}
	// Without a connection string: protocol, hostname, username, password.
	o, err = ParseOptions(map[string]string{"hostname": "rmq:5673", "username": "u", "password": "p@ss"})
	if err != nil || o.URL != "amqp://u:p%40ss@rmq:5673" || o.Protocol != "amqp" {
		t.Fatalf("%v %+v", err, o)
	}
	if u, err := amqp.ParseURI(o.URL); err != nil || u.Password != "p@ss" || u.Port != 5673 {
		t.Fatalf("%v %+v", err, u)
	}
	o, err = ParseOptions(map[string]string{})
	if err != nil || o.URL != "amqp://localhost" {
		t.Fatalf("%v %+v", err, o)
	}
	if o, err := ParseOptions(map[string]string{"ttl": "1500ms", "connectionString": "amqps://h"}); err != nil || o.TTL != 1500*time.Millisecond || o.Protocol != "amqps" {
		t.Fatalf("%v %+v", err, o)
	}
	for _, bad := range []map[string]string{
		{"connectionString": "http://nope"},
		{"connectionString": "amqp://x", "protocol": "amqps"},
		{"connectionString": "amqp://x", "deliveryMode": "3"},
		{"connectionString": "amqp://x", "exchangeKind": "round"},
		{"connectionString": "amqp://x", "durable": "perhaps"},
		{"connectionString": "amqp://x", "concurrencyMode": "some"},
		{"connectionString": "amqp://x", "ttlInSeconds": "-5"},
		{"connectionString": "amqp://x", "ttlInSeconds": "soon"},
		{"connectionString": "amqp://x", "heartBeat": "often"},
		{"connectionString": "amqp://x", "caCert": "not PEM"},
		{"connectionString": "amqps://x", "saslExternal": "true"},
	} {
		if _, err := ParseOptions(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if _, err := New("x", map[string]string{"connectionString": "http://nope"}, nil); err == nil {
		t.Error("a non-AMQP URL was accepted")
	}
}

// pki is a CA and a client certificate signed by it, in PEM.
type pki struct {
	caPEM, certPEM, keyPEM string
	ca                     *x509.Certificate
	caKey                  *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caT, caT, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ct := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "skiff-client"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, ct, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return &pki{
		caPEM:   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		certPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		keyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})),
		ca:      ca, caKey: caKey,
	}
}

// serverCert is a certificate for 127.0.0.1 signed by the CA.
func (p *pki) serverCert(t *testing.T) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	st := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, st, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLSConfig: caCert, clientCert, clientKey and saslExternal become the
// connection's TLS configuration and SASL EXTERNAL with amqps only.
// (No TLS broker runs here; TestTLSHandshake checks the wire.)
func TestTLSConfig(t *testing.T) {
	p := newPKI(t)
	md := map[string]string{"connectionString": "amqps://127.0.0.1:5671", "caCert": p.caPEM, "clientCert": p.certPEM, "clientKey": p.keyPEM, "saslExternal": "true", "clientName": "skiff-x", "heartBeat": "7s"}
	o, err := ParseOptions(md)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.dialConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLSClientConfig == nil || cfg.TLSClientConfig.RootCAs == nil || len(cfg.TLSClientConfig.Certificates) != 1 {
		t.Fatalf("TLS config: %+v", cfg.TLSClientConfig)
	}
	if len(cfg.SASL) != 1 || cfg.SASL[0].Mechanism() != "EXTERNAL" {
		t.Fatalf("SASL: %v", cfg.SASL)
	}
	if cfg.Heartbeat != 7*time.Second || cfg.Properties["connection_name"] != "skiff-x" {
		t.Fatalf("%+v", cfg)
	}
	// amqp: no TLS, no EXTERNAL (daprd uses them with amqps only).
	md["connectionString"] = "amqp://127.0.0.1"
	o, _ = ParseOptions(md)
	if cfg, _ := o.dialConfig(); cfg.TLSClientConfig != nil || cfg.SASL != nil {
		t.Fatalf("amqp: %+v", cfg)
	}
	// A key that does not match the certificate is refused at parse time.
	other := newPKI(t)
	if _, err := ParseOptions(map[string]string{"connectionString": "amqps://h", "clientCert": p.certPEM, "clientKey": other.keyPEM}); err == nil {
		t.Fatal("mismatched client key accepted")
	}
}

// TestTLSHandshake: with amqps the component verifies the server against
// caCert, presents clientCert, and speaks AMQP inside TLS. A TLS listener
// stands in for the broker: it requires the client certificate and reads
// the AMQP protocol header.
func TestTLSHandshake(t *testing.T) {
	p := newPKI(t)
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{p.serverCert(t)}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		head := make([]byte, 8)
		if _, err := io.ReadFull(c, head); err != nil {
			got <- "read: " + err.Error()
			return
		}
		cn := c.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName
		got <- cn + " " + string(bytes.TrimRight(head[:4], "\x00"))
	}()
	r, err := New("tls", map[string]string{"connectionString": "amqps://" + ln.Addr().String(), "caCert": p.caPEM, "clientCert": p.certPEM, "clientKey": p.keyPEM, "saslExternal": "true"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	select {
	case s := <-got:
		if s != "skiff-client AMQP" {
			t.Fatalf("server saw %q", s)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no TLS connection")
	}
	// A server the CA did not sign is refused.
	other := newPKI(t)
	ln2, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{other.serverCert(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	go func() {
		if c, err := ln2.Accept(); err == nil {
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	o, _ := ParseOptions(map[string]string{"connectionString": "amqps://" + ln2.Addr().String(), "caCert": p.caPEM})
	cfg, _ := o.dialConfig()
	if _, err := amqp.DialConfig(o.URL, cfg); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted server: %v", err)
	}
}

// TestSubscriptionMetadata: the queue arguments daprd derives from the
// component and the subscription metadata.
func TestSubscriptionMetadata(t *testing.T) {
	r := &RabbitMQ{opt: Options{ConsumerID: "app", MaxLen: 10, MaxLenBytes: 1000}}
	s, err := r.newSubscription(pubsubReq("orders", map[string]string{"routingKey": "a,b,", "queueType": "quorum", "maxPriority": "300", "singleActiveConsumer": "true", "maxLen": "5"}))
	if err != nil {
		t.Fatal(err)
	}
	if s.queue != "app-orders" || !slices.Equal(s.routing, []string{"a", "b", ""}) {
		t.Fatalf("%+v", s)
	}
	want := amqp.Table{"x-queue-type": "quorum", "x-max-priority": uint8(255), "x-single-active-consumer": true, "x-max-length": int64(5), "x-max-length-bytes": int64(1000)}
	if fmt.Sprint(s.args) != fmt.Sprint(want) {
		t.Fatalf("args %v, want %v", s.args, want)
	}
	if s, _ := r.newSubscription(pubsubReq("t", map[string]string{"queueName": "mine"})); s.queue != "mine" || s.args["x-queue-type"] != "classic" {
		t.Fatalf("%+v", s)
	}
	for _, bad := range []map[string]string{{"queueType": "stream"}, {"maxPriority": "high"}, {"maxLenBytes": "-1"}} {
		if _, err := r.newSubscription(pubsubReq("t", bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	r.opt.ConsumerID = ""
	if _, err := r.newSubscription(pubsubReq("t", nil)); err == nil {
		t.Error("no consumerID and no queueName accepted")
	}
}

func pubsubReq(topic string, md map[string]string) pubsub.SubscribeRequest {
	return pubsub.SubscribeRequest{Topic: topic, Metadata: md}
}
