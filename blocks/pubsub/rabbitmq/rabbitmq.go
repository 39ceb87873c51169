package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"github.com/skiffd/skiff/blocks/pubsub/internal/lifecycle"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/internal/mdutil"
)

// Options are the parsed metadata (defaults as daprd's).
type Options struct {
	URL              string
	ConsumerID       string
	Durable          bool
	DeleteWhenUnused bool // default true
	AutoAck          bool
	RequeueInFailure bool
	DeliveryMode     uint8
	PrefetchCount    int
	ReconnectWait    time.Duration // 3s
	ExchangeKind     string        // fanout
	MaxLen           int64
	MaxLenBytes      int64
	TTL              time.Duration // ttlInSeconds: default message expiration
	ClientName       string
	HeartBeat        time.Duration
}

// ParseOptions reads the metadata.
func ParseOptions(md map[string]string) (Options, error) {
	m := mdutil.MD{M: md, What: "pubsub.rabbitmq"}
	o := Options{URL: m.Get("connectionString"), ConsumerID: m.Get("consumerID"), ClientName: m.Get("clientName"), ExchangeKind: m.Get("exchangeKind")}
	if o.URL == "" {
		o.URL = m.Get("host") // daprd's older name
	}
	if o.URL == "" {
		return o, errors.New("pubsub.rabbitmq: connectionString is empty")
	}
	if o.ExchangeKind == "" {
		o.ExchangeKind = amqp.ExchangeFanout
	}
	switch o.ExchangeKind {
	case amqp.ExchangeFanout, amqp.ExchangeTopic, amqp.ExchangeDirect, amqp.ExchangeHeaders:
	default:
		return o, fmt.Errorf("pubsub.rabbitmq: exchangeKind %q: want fanout, topic, direct or headers", o.ExchangeKind)
	}
	var err error
	if o.Durable, err = m.Bool("durable", false); err != nil {
		return o, err
	}
	if o.DeleteWhenUnused, err = m.Bool("deletedWhenUnused", true); err != nil {
		return o, err
	}
	if o.AutoAck, err = m.Bool("autoAck", false); err != nil {
		return o, err
	}
	if o.RequeueInFailure, err = m.Bool("requeueInFailure", false); err != nil {
		return o, err
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
	o.PrefetchCount = int(n)
	if o.ReconnectWait, err = m.Duration("reconnectWait", 3*time.Second); err != nil {
		return o, err
	}
	if v := m.Get("reconnectWaitSeconds"); v != "" {
		s, err := strconv.Atoi(v)
		if err != nil || s < 0 {
			return o, fmt.Errorf("pubsub.rabbitmq: reconnectWaitSeconds %q: want seconds", v)
		}
		o.ReconnectWait = time.Duration(s) * time.Second
	}
	if o.MaxLen, err = m.Int("maxLen", 0); err != nil {
		return o, err
	}
	if o.MaxLenBytes, err = m.Int("maxLenBytes", 0); err != nil {
		return o, err
	}
	if n, err = m.Int("ttlInSeconds", 0); err != nil {
		return o, err
	}
	o.TTL = time.Duration(n) * time.Second
	if o.HeartBeat, err = m.Duration("heartBeat", 10*time.Second); err != nil {
		return o, err
	}
	return o, nil
}

// RabbitMQ is the component.
type RabbitMQ struct {
	name string
	opt  Options
	log  *slog.Logger

	dialMu    sync.Mutex // one (re)connection at a time
	mu        sync.Mutex
	conn      *amqp.Connection
	pub       *amqp.Channel // confirm mode
	exchanges map[string]bool
	lastErr   error
	nextTry   time.Time
	backoff   time.Duration
	closed    bool
	stop      chan struct{}
	wg        sync.WaitGroup
}

// New builds the component and connects in the background.
func New(name string, md map[string]string, log *slog.Logger) (*RabbitMQ, error) {
	o, err := ParseOptions(md)
	if err != nil {
		return nil, err
	}
	if _, err := amqp.ParseURI(o.URL); err != nil {
		return nil, fmt.Errorf("pubsub.rabbitmq: connectionString: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	r := &RabbitMQ{name: name, opt: o, log: log, stop: make(chan struct{}), exchanges: map[string]bool{}}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		warned := false
		for {
			if _, _, err := r.connection(); err == nil {
				return
			} else if !warned {
				log.Warn("pubsub.rabbitmq: broker unreachable; retrying with backoff", "component", name, "error", err)
				warned = true
			}
			select {
			case <-r.stop:
				return
			case <-time.After(r.opt.ReconnectWait / 4):
			}
		}
	}()
	return r, nil
}

var errNotConnected = errors.New("not connected")

// connection returns the live connection and publishing channel,
// (re)connecting when the backoff allows. Dialing happens outside r.mu so
// that Ready never waits for it.
func (r *RabbitMQ) connection() (*amqp.Connection, *amqp.Channel, error) {
	if c, ch, err, ok := r.live(); ok {
		return c, ch, err
	}
	r.dialMu.Lock()
	defer r.dialMu.Unlock()
	if c, ch, err, ok := r.live(); ok {
		return c, ch, err
	}
	r.mu.Lock()
	if time.Now().Before(r.nextTry) {
		err := r.lastErr
		r.mu.Unlock()
		return nil, nil, fmt.Errorf("%w to the broker (retrying): %v", errNotConnected, err)
	}
	conn := r.conn
	if conn != nil && conn.IsClosed() {
		r.dropLocked()
		conn = nil
	}
	r.mu.Unlock()
	var err error
	if conn == nil {
		cfg := amqp.Config{Heartbeat: r.opt.HeartBeat, Locale: "en_US", Dial: amqp.DefaultDial(5 * time.Second)}
		if r.opt.ClientName != "" {
			cfg.Properties = amqp.Table{"connection_name": r.opt.ClientName}
		}
		conn, err = amqp.DialConfig(r.opt.URL, cfg)
	}
	var pub *amqp.Channel
	if err == nil {
		pub, err = openPub(conn)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		r.conn = nil
		r.lastErr = err
		r.backoff = min(max(2*r.backoff, 100*time.Millisecond), max(r.opt.ReconnectWait, 100*time.Millisecond))
		r.nextTry = time.Now().Add(r.backoff)
		return nil, nil, fmt.Errorf("%w to the broker: %v", errNotConnected, err)
	}
	if r.closed {
		_ = conn.Close()
		return nil, nil, pubsub.ErrClosed
	}
	r.conn, r.pub, r.exchanges = conn, pub, map[string]bool{}
	r.lastErr, r.backoff = nil, 0
	return conn, pub, nil
}

// live returns the connection when it and its publishing channel are open
// (ok), or the closed error.
func (r *RabbitMQ) live() (*amqp.Connection, *amqp.Channel, error, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, nil, pubsub.ErrClosed, true
	}
	if r.conn != nil && !r.conn.IsClosed() && r.pub != nil && !r.pub.IsClosed() {
		return r.conn, r.pub, nil, true
	}
	return nil, nil, nil, false
}

func openPub(conn *amqp.Connection) (*amqp.Channel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, err
	}
	return ch, nil
}

func (r *RabbitMQ) dropLocked() {
	if r.pub != nil {
		_ = r.pub.Close()
		r.pub = nil
	}
	if r.conn != nil {
		_ = r.conn.Close()
		r.conn = nil
	}
}

// Ready is the healthz probe: nil while connected.
func (r *RabbitMQ) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conn != nil && !r.conn.IsClosed() {
		return nil
	}
	if r.lastErr != nil {
		return fmt.Errorf("pubsub.rabbitmq %s: %w to the broker: %v", r.name, errNotConnected, r.lastErr)
	}
	return fmt.Errorf("pubsub.rabbitmq %s: %w to the broker", r.name, errNotConnected)
}

// Features: MESSAGE_TTL (daprd's RabbitMQ lists it: ttlInSeconds becomes
// the message's expiration).
func (r *RabbitMQ) Features() pubsub.Features { return pubsub.Features(pubsub.FeatureMessageTTL) }

func (r *RabbitMQ) declareExchange(ch *amqp.Channel, topic string, cache bool) error {
	if cache {
		r.mu.Lock()
		ok := r.exchanges[topic]
		r.mu.Unlock()
		if ok {
			return nil
		}
	}
	if err := ch.ExchangeDeclare(topic, r.opt.ExchangeKind, r.opt.Durable, r.opt.DeleteWhenUnused, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", topic, err)
	}
	if cache {
		r.mu.Lock()
		r.exchanges[topic] = true
		r.mu.Unlock()
	}
	return nil
}

func (r *RabbitMQ) publishing(req *pubsub.PublishRequest) (amqp.Publishing, string) {
	p := amqp.Publishing{ContentType: "text/plain", Body: req.Data, DeliveryMode: r.opt.DeliveryMode}
	if r.opt.TTL > 0 {
		p.Expiration = strconv.FormatInt(r.opt.TTL.Milliseconds(), 10)
	}
	key := ""
	for k, v := range req.Metadata {
		switch strings.ToLower(k) {
		case "ttlinseconds":
			if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 {
				p.Expiration = strconv.FormatInt(s*1000, 10)
			}
		case "routingkey":
			key = v
		case "priority":
			if n, err := strconv.ParseUint(v, 10, 8); err == nil {
				p.Priority = uint8(n)
			}
		case "contenttype":
			p.ContentType = v
		case "messageid":
			p.MessageId = v
		case "correlationid":
			p.CorrelationId = v
		case "type":
			p.Type = v
		}
	}
	return p, key
}

// Publish publishes to the topic's exchange and waits for the broker's
// confirm; one retry on a fresh connection when the old one died.
func (r *RabbitMQ) Publish(ctx context.Context, req *pubsub.PublishRequest) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if err = r.publishOnce(ctx, req); err == nil || ctx.Err() != nil || errors.Is(err, pubsub.ErrClosed) {
			break
		}
		if !errors.Is(err, amqp.ErrClosed) && !strings.Contains(err.Error(), "channel/connection is not open") {
			break
		}
	}
	return err
}

func (r *RabbitMQ) publishOnce(ctx context.Context, req *pubsub.PublishRequest) error {
	_, ch, err := r.connection()
	if err != nil {
		return fmt.Errorf("publish: rabbitmq: %w", err)
	}
	if err := r.declareExchange(ch, req.Topic, true); err != nil {
		return fmt.Errorf("publish: rabbitmq: %w", err)
	}
	p, key := r.publishing(req)
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, req.Topic, key, false, false, p)
	if err != nil {
		return fmt.Errorf("publish: rabbitmq: %w", err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("publish: rabbitmq: waiting for the broker's confirm: %w", err)
	}
	if !ok {
		return errors.New("publish: rabbitmq: the broker refused the message (nack)")
	}
	return nil
}

// Subscribe starts the topic's consumer loop (reconnecting as needed).
func (r *RabbitMQ) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, h pubsub.Handler) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return pubsub.ErrClosed
	}
	topic := strings.Clone(req.Topic)
	queue := ""
	routing := []string{""}
	for k, v := range req.Metadata {
		switch strings.ToLower(k) {
		case "queuename":
			queue = strings.Clone(v)
		case "routingkey":
			if v != "" {
				routing = strings.Split(v, ",")
			}
		}
	}
	if queue == "" {
		if r.opt.ConsumerID == "" {
			return errors.New("pubsub.rabbitmq: consumerID is required for subscriptions without queueName")
		}
		queue = r.opt.ConsumerID + "-" + topic
	}
	bound := make(chan struct{})
	lifecycle.Go(&r.wg, ctx, r.stop, func(ctx context.Context) {
		r.consumeForever(ctx, topic, queue, routing, h, sync.OnceFunc(func() { close(bound) }))
	})
	r.mu.Unlock()
	defer r.mu.Lock()
	// As daprd, wait for the queue to be bound: a fanout exchange drops
	// what is published while no queue is bound to it. A broker that is
	// down does not hold startup long; the loop keeps trying.
	select {
	case <-bound:
	case <-ctx.Done():
	case <-r.stop:
	case <-time.After(10 * time.Second):
		r.log.Warn("pubsub.rabbitmq: queue not bound yet; still trying in the background", "component", r.name, "topic", topic, "queue", queue)
	}
	return nil
}

func (r *RabbitMQ) consumeForever(ctx context.Context, topic, queue string, routing []string, h pubsub.Handler, bound func()) {
	backoff := 100 * time.Millisecond
	warned := false
	for ctx.Err() == nil {
		err := r.consumeOnce(ctx, topic, queue, routing, h, bound)
		if ctx.Err() != nil {
			return
		}
		if err != nil && !warned {
			r.log.Warn("pubsub.rabbitmq: subscription interrupted; reconnecting", "component", r.name, "topic", topic, "queue", queue, "error", err)
			warned = true
		}
		if err == nil {
			backoff, warned = 100*time.Millisecond, false
		}
		if !lifecycle.Sleep(ctx, nil, backoff) {
			return
		}
		backoff = min(2*backoff, max(r.opt.ReconnectWait, 100*time.Millisecond))
	}
}

// consumeOnce runs one channel's consumer until it closes or ctx ends.
func (r *RabbitMQ) consumeOnce(ctx context.Context, topic, queue string, routing []string, h pubsub.Handler, bound func()) error {
	conn, _, err := r.connection()
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	// Closing the channel returns unacked messages to the queue.
	defer ch.Close()
	if err := r.declareExchange(ch, topic, false); err != nil {
		return err
	}
	args := amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeClassic}
	if r.opt.MaxLen > 0 {
		args["x-max-length"] = r.opt.MaxLen
	}
	if r.opt.MaxLenBytes > 0 {
		args["x-max-length-bytes"] = r.opt.MaxLenBytes
	}
	q, err := ch.QueueDeclare(queue, r.opt.Durable, r.opt.DeleteWhenUnused, false, false, args)
	if err != nil {
		return fmt.Errorf("declare queue %s: %w", queue, err)
	}
	for _, key := range routing {
		if err := ch.QueueBind(q.Name, key, topic, false, nil); err != nil {
			return fmt.Errorf("bind queue %s to %s: %w", queue, topic, err)
		}
	}
	if r.opt.PrefetchCount > 0 {
		if err := ch.Qos(r.opt.PrefetchCount, 0, false); err != nil {
			return fmt.Errorf("prefetchCount: %w", err)
		}
	}
	msgs, err := ch.Consume(q.Name, "", r.opt.AutoAck, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", queue, err)
	}
	bound()
	for {
		var d amqp.Delivery
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case d, ok = <-msgs:
		}
		if !ok {
			return errors.New("channel closed")
		}
		if !r.handle(ctx, topic, &d, h) {
			return nil
		}
	}
}

// handle delivers one message; false when stopping.
func (r *RabbitMQ) handle(ctx context.Context, topic string, d *amqp.Delivery, h pubsub.Handler) bool {
	msg := pubsub.Message{Topic: topic, Data: d.Body, ContentType: d.ContentType, Metadata: properties(d)}
	backoff := 50 * time.Millisecond
	for {
		err := h(ctx, &msg)
		if r.opt.AutoAck {
			return ctx.Err() == nil
		}
		if err == nil {
			if err := d.Ack(false); err != nil {
				r.log.Warn("pubsub.rabbitmq: ack failed; the message will be delivered again", "component", r.name, "topic", topic, "error", err)
			}
			return true
		}
		if ctx.Err() != nil {
			_ = d.Nack(false, true)
			return false
		}
		if !r.opt.RequeueInFailure {
			// daprd's behaviour: a refused message is not requeued (the
			// broker drops or dead-letters it).
			_ = d.Nack(false, false)
			return true
		}
		if !lifecycle.Sleep(ctx, nil, backoff) {
			_ = d.Nack(false, true)
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// properties are the delivery's AMQP properties as daprd passes them.
func properties(d *amqp.Delivery) map[string]string {
	md := map[string]string{}
	if d.MessageId != "" {
		md["messageid"] = d.MessageId
	}
	if d.CorrelationId != "" {
		md["correlationid"] = d.CorrelationId
	}
	if d.Type != "" {
		md["type"] = d.Type
	}
	if d.ContentType != "" {
		md["contenttype"] = d.ContentType
	}
	for k, v := range d.Headers {
		switch x := v.(type) {
		case string:
			md[k] = x
		case []byte:
			md[k] = string(x)
		case nil:
		default:
			md[k] = fmt.Sprint(x)
		}
	}
	return md
}

// Close stops the consumers and closes the connection.
func (r *RabbitMQ) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.stop)
	r.mu.Unlock()
	r.wg.Wait()
	r.mu.Lock()
	r.dropLocked()
	r.mu.Unlock()
	return nil
}
