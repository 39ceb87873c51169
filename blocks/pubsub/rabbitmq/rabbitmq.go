package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/internal/lifecycle"
)

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
		var cfg amqp.Config
		if cfg, err = r.opt.dialConfig(); err == nil {
			conn, err = amqp.DialConfig(r.opt.URL, cfg)
		}
	}
	var pub *amqp.Channel
	if err == nil {
		pub, err = openPub(conn, r.opt.PublisherConfirm)
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

func openPub(conn *amqp.Connection, confirm bool) (*amqp.Channel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if !confirm {
		return ch, nil
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

// publishing is the AMQP message for req, with the request metadata daprd
// honours: routingKey, ttl/ttlInSeconds (expiration), priority,
// contentType, messageID, correlationID and type.
func (r *RabbitMQ) publishing(req *pubsub.PublishRequest) (amqp.Publishing, string) {
	p := amqp.Publishing{ContentType: "text/plain", Body: req.Data, DeliveryMode: r.opt.DeliveryMode}
	if r.opt.HasTTL {
		p.Expiration = strconv.FormatInt(r.opt.TTL.Milliseconds(), 10)
	}
	if len(req.Metadata) == 0 {
		return p, ""
	}
	// An invalid per-message TTL is ignored, as daprd does (it logs it).
	if ttl, ok, err := parseTTL(req.Metadata); ok && err == nil {
		p.Expiration = strconv.FormatInt(ttl.Milliseconds(), 10)
	}
	key := ""
	for k, v := range req.Metadata {
		if v == "" {
			continue
		}
		switch strings.ToLower(k) {
		case "routingkey":
			key = v
		case "priority":
			if n, err := strconv.Atoi(v); err == nil {
				p.Priority = uint8(min(max(n, 0), 255))
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
	if !r.opt.PublisherConfirm {
		// daprd's default: written to the connection, not confirmed.
		if err := ch.PublishWithContext(ctx, req.Topic, key, false, false, p); err != nil {
			return fmt.Errorf("publish: rabbitmq: %w", err)
		}
		return nil
	}
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

// subscription is one Subscribe's queue, as daprd declares it.
type subscription struct {
	topic, queue string
	routing      []string
	args         amqp.Table // the queue's arguments
}

// newSubscription reads the subscription metadata daprd honours:
// queueName, routingKey (comma-separated), queueType (classic or quorum),
// maxPriority, singleActiveConsumer, maxLen and maxLenBytes.
func (r *RabbitMQ) newSubscription(req pubsub.SubscribeRequest) (*subscription, error) {
	s := &subscription{topic: strings.Clone(req.Topic), routing: []string{""}, args: amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeClassic}}
	if r.opt.MaxLen > 0 {
		s.args["x-max-length"] = r.opt.MaxLen
	}
	if r.opt.MaxLenBytes > 0 {
		s.args["x-max-length-bytes"] = r.opt.MaxLenBytes
	}
	for k, v := range req.Metadata {
		if v == "" {
			continue
		}
		switch strings.ToLower(k) {
		case "queuename":
			s.queue = strings.Clone(v)
		case "routingkey":
			s.routing = strings.Split(strings.Clone(v), ",")
		case "queuetype":
			if v != amqp.QueueTypeClassic && v != amqp.QueueTypeQuorum {
				return nil, fmt.Errorf("pubsub.rabbitmq: queueType %q: want classic or quorum", v)
			}
			s.args[amqp.QueueTypeArg] = strings.Clone(v)
		case "maxpriority":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("pubsub.rabbitmq: maxPriority %q: %w", v, err)
			}
			s.args["x-max-priority"] = uint8(min(n, 255))
		case "singleactiveconsumer":
			if b, _ := strconv.ParseBool(v); b {
				s.args["x-single-active-consumer"] = true
			}
		case "maxlen", "maxlenbytes":
			n, err := strconv.ParseUint(v, 10, 63)
			if err != nil {
				return nil, fmt.Errorf("pubsub.rabbitmq: %s %q: %w", k, v, err)
			}
			arg := "x-max-length"
			if strings.EqualFold(k, "maxLenBytes") {
				arg = "x-max-length-bytes"
			}
			s.args[arg] = int64(n)
		}
	}
	if s.queue == "" {
		if r.opt.ConsumerID == "" {
			return nil, errors.New("pubsub.rabbitmq: consumerID is required for subscriptions without queueName")
		}
		s.queue = r.opt.ConsumerID + "-" + s.topic
	}
	return s, nil
}

// Subscribe starts the topic's consumer loop (reconnecting as needed).
func (r *RabbitMQ) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, h pubsub.Handler) error {
	sub, err := r.newSubscription(req)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return pubsub.ErrClosed
	}
	bound := make(chan struct{})
	lifecycle.Go(&r.wg, ctx, r.stop, func(ctx context.Context) {
		r.consumeForever(ctx, sub, h, sync.OnceFunc(func() { close(bound) }))
	})
	r.mu.Unlock()
	// As daprd, wait for the queue to be bound: a fanout exchange drops
	// what is published while no queue is bound to it. A broker that is
	// down does not hold startup long; the loop keeps trying.
	select {
	case <-bound:
	case <-ctx.Done():
	case <-r.stop:
	case <-time.After(10 * time.Second):
		r.log.Warn("pubsub.rabbitmq: queue not bound yet; still trying in the background", "component", r.name, "topic", sub.topic, "queue", sub.queue)
	}
	return nil
}

func (r *RabbitMQ) consumeForever(ctx context.Context, sub *subscription, h pubsub.Handler, bound func()) {
	backoff := 100 * time.Millisecond
	warned := false
	for ctx.Err() == nil {
		err := r.consumeOnce(ctx, sub, h, bound)
		if ctx.Err() != nil {
			return
		}
		if err != nil && !warned {
			r.log.Warn("pubsub.rabbitmq: subscription interrupted; reconnecting", "component", r.name, "topic", sub.topic, "queue", sub.queue, "error", err)
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

// declareQueue declares the subscription's queue and bindings, with
// daprd's dead-letter exchange dlx-{queue} and queue dlq-{queue} when
// enableDeadLetter is set: a message refused without requeue lands there.
func (r *RabbitMQ) declareQueue(ch *amqp.Channel, sub *subscription) error {
	if err := r.declareExchange(ch, sub.topic, false); err != nil {
		return err
	}
	args := sub.args
	if r.opt.EnableDeadLetter {
		dlx, dlq := "dlx-"+sub.queue, "dlq-"+sub.queue
		// As daprd: the dead-letter exchange and queue are always durable;
		// the queue is lazy (kept on disk) and has the same length limits.
		if err := ch.ExchangeDeclare(dlx, amqp.ExchangeFanout, true, r.opt.DeleteWhenUnused, false, false, nil); err != nil {
			return fmt.Errorf("declare dead-letter exchange %s: %w", dlx, err)
		}
		dargs := amqp.Table{"x-queue-mode": "lazy"}
		if r.opt.MaxLen > 0 {
			dargs["x-max-length"] = r.opt.MaxLen
		}
		if r.opt.MaxLenBytes > 0 {
			dargs["x-max-length-bytes"] = r.opt.MaxLenBytes
		}
		if _, err := ch.QueueDeclare(dlq, true, r.opt.DeleteWhenUnused, false, false, dargs); err != nil {
			return fmt.Errorf("declare dead-letter queue %s: %w", dlq, err)
		}
		if err := ch.QueueBind(dlq, "", dlx, false, nil); err != nil {
			return fmt.Errorf("bind dead-letter queue %s: %w", dlq, err)
		}
		args = make(amqp.Table, len(sub.args)+1)
		for k, v := range sub.args {
			args[k] = v
		}
		args["x-dead-letter-exchange"] = dlx
	}
	if _, err := ch.QueueDeclare(sub.queue, r.opt.Durable, r.opt.DeleteWhenUnused, false, false, args); err != nil {
		return fmt.Errorf("declare queue %s: %w", sub.queue, err)
	}
	for _, key := range sub.routing {
		if err := ch.QueueBind(sub.queue, key, sub.topic, false, nil); err != nil {
			return fmt.Errorf("bind queue %s to %s: %w", sub.queue, sub.topic, err)
		}
	}
	return nil
}

// consumeOnce runs one channel's consumer until it closes or ctx ends.
func (r *RabbitMQ) consumeOnce(ctx context.Context, sub *subscription, h pubsub.Handler, bound func()) error {
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
	if err := r.declareQueue(ch, sub); err != nil {
		return err
	}
	if r.opt.PrefetchCount > 0 {
		if err := ch.Qos(r.opt.PrefetchCount, 0, false); err != nil {
			return fmt.Errorf("prefetchCount: %w", err)
		}
	}
	// The consumer tag is the queue's name, as daprd's.
	msgs, err := ch.Consume(sub.queue, sub.queue, r.opt.AutoAck, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", sub.queue, err)
	}
	bound()
	// concurrencyMode parallel (daprd's default): up to prefetchCount
	// (else 100) messages handled at once, in no promised order; single:
	// one at a time, in queue order.
	var inflight sync.WaitGroup
	defer inflight.Wait() // before the channel closes: their acks need it
	var slots chan struct{}
	if r.opt.Parallel {
		n := r.opt.PrefetchCount
		if n <= 0 {
			n = 100
		}
		slots = make(chan struct{}, n)
	}
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
		if slots == nil {
			if !r.handle(ctx, sub.topic, &d, h) {
				return nil
			}
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			_ = d.Nack(false, true)
			return nil
		}
		inflight.Add(1)
		go func() {
			defer func() { <-slots; inflight.Done() }()
			r.handle(ctx, sub.topic, &d, h)
		}()
	}
}

// handle delivers one message; false when stopping.
func (r *RabbitMQ) handle(ctx context.Context, topic string, d *amqp.Delivery, h pubsub.Handler) bool {
	msg := pubsub.Message{Topic: topic, Data: d.Body, ContentType: d.ContentType, Metadata: properties(d), Redelivered: d.Redelivered}
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
			// broker drops it, or dead-letters it with enableDeadLetter).
			_ = d.Nack(false, false)
			return true
		}
		if !lifecycle.Sleep(ctx, nil, backoff) {
			_ = d.Nack(false, true)
			return false
		}
		msg.Redelivered = true
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
