package jetstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/skiffd/skiff/blocks/pubsub/internal/lifecycle"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/internal/mdutil"
)

// Options are the component's parsed metadata.
type Options struct {
	NatsURL        string
	Name           string
	StreamName     string
	DurableName    string
	QueueGroupName string
	ConsumerID     string
	Consumer       jetstream.ConsumerConfig // template: everything but names and filter
	Domain         string
	APIPrefix      string
	Parallel       bool   // concurrency: parallel (daprd's name): no order
	RateLimit      uint64 // rateLimit (bits/s): accepted, not applied (see ParseOptions)
	CreateStream   bool   // skiffCreateStream
	StreamMaxMsgs  int64  // skiffStreamMaxMsgs: limit of a stream we create
	PublishTimeout time.Duration
	conn           []nats.Option
}

// ParseOptions reads the metadata.
func ParseOptions(md map[string]string) (Options, error) {
	m := mdutil.MD{M: md, What: "pubsub.jetstream"}
	o := Options{
		NatsURL: m.Get("natsURL"), Name: m.Get("name"), StreamName: m.Get("streamName"),
		DurableName: m.Get("durableName"), QueueGroupName: m.Get("queueGroupName"),
		ConsumerID: m.Get("consumerID"), Domain: m.Get("domain"), APIPrefix: m.Get("apiPrefix"),
	}
	if o.NatsURL == "" {
		return o, errors.New("pubsub.jetstream: natsURL is empty")
	}
	if o.Name == "" {
		o.Name = "dapr.io - pubsub.jetstream" // daprd's default connection name
	}
	switch strings.ToLower(m.Get("concurrency")) {
	case "", "single":
	case "parallel":
		o.Parallel = true
	default:
		return o, fmt.Errorf("pubsub.jetstream: concurrency %q: want single or parallel", m.Get("concurrency"))
	}
	var err error
	if o.CreateStream, err = m.Bool("skiffCreateStream", false); err != nil {
		return o, err
	}
	if o.CreateStream && o.StreamName == "" {
		return o, errors.New("pubsub.jetstream: skiffCreateStream needs streamName")
	}
	if o.StreamMaxMsgs, err = m.Int("skiffStreamMaxMsgs", 0); err != nil {
		return o, err
	}
	if o.StreamMaxMsgs == 0 {
		o.StreamMaxMsgs = -1 // unlimited
	}
	if o.PublishTimeout, err = m.Duration("skiffPublishTimeout", 5*time.Second); err != nil {
		return o, err
	}
	c := &o.Consumer
	c.AckPolicy = jetstream.AckExplicitPolicy
	switch strings.ToLower(m.Get("ackPolicy")) {
	case "", "explicit":
	case "all":
		c.AckPolicy = jetstream.AckAllPolicy
	case "none":
		c.AckPolicy = jetstream.AckNonePolicy
	default:
		return o, fmt.Errorf("pubsub.jetstream: ackPolicy %q: want explicit, all or none", m.Get("ackPolicy"))
	}
	seq, err := m.Int("startSequence", 0)
	if err != nil {
		return o, err
	}
	start, err := m.Int("startTime", 0)
	if err != nil {
		return o, err
	}
	switch strings.ToLower(m.Get("deliverPolicy")) {
	case "", "all":
		c.DeliverPolicy = jetstream.DeliverAllPolicy
		// As daprd: a start sequence or time without a policy selects it.
		if seq > 0 {
			c.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		} else if start > 0 {
			c.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		}
	case "last":
		c.DeliverPolicy = jetstream.DeliverLastPolicy
	case "new":
		c.DeliverPolicy = jetstream.DeliverNewPolicy
	case "sequence":
		c.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
	case "time":
		c.DeliverPolicy = jetstream.DeliverByStartTimePolicy
	default:
		return o, fmt.Errorf("pubsub.jetstream: deliverPolicy %q: want all, last, new, sequence or time", m.Get("deliverPolicy"))
	}
	if c.DeliverPolicy == jetstream.DeliverByStartSequencePolicy {
		if seq <= 0 {
			return o, errors.New("pubsub.jetstream: deliverPolicy sequence needs startSequence")
		}
		c.OptStartSeq = uint64(seq)
	}
	if c.DeliverPolicy == jetstream.DeliverByStartTimePolicy {
		if start <= 0 {
			return o, errors.New("pubsub.jetstream: deliverPolicy time needs startTime (unix seconds)")
		}
		t := time.Unix(start, 0)
		c.OptStartTime = &t
	}
	if c.AckWait, err = m.Duration("ackWait", 0); err != nil {
		return o, err
	}
	n, err := m.Int("maxDeliver", 0)
	if err != nil {
		return o, err
	}
	c.MaxDeliver = int(n)
	if n, err = m.Int("maxAckPending", 0); err != nil {
		return o, err
	}
	c.MaxAckPending = int(n)
	if n, err = m.Int("replicas", 0); err != nil {
		return o, err
	}
	c.Replicas = int(n)
	if c.MemoryStorage, err = m.Bool("memoryStorage", false); err != nil {
		return o, err
	}
	if n, err = m.Int("rateLimit", 0); err != nil {
		return o, err
	}
	// daprd sets rateLimit on its push consumer; NATS refuses it on the
	// pull consumers used here ("consumer in pull mode can not have rate
	// limit set"), which would fail every subscription of a documented
	// component file. It is kept for New to warn about, not sent.
	o.RateLimit = uint64(n)
	if v := m.Get("backOff"); v != "" {
		for _, p := range strings.Split(v, ",") {
			d, err := mdutil.MD{M: map[string]string{"b": strings.TrimSpace(p)}, What: "pubsub.jetstream backOff"}.Duration("b", 0)
			if err != nil {
				return o, err
			}
			c.BackOff = append(c.BackOff, d)
		}
	}
	o.conn = []nats.Option{nats.Name(o.Name)}
	if jwt, seed := m.Get("jwt"), m.Get("seedKey"); jwt != "" && seed != "" {
		o.conn = append(o.conn, nats.UserJWTAndSeed(jwt, seed))
	} else if cert, key := m.Get("tls_client_cert"), m.Get("tls_client_key"); cert != "" && key != "" {
		o.conn = append(o.conn, nats.ClientCert(cert, key))
	} else if tok := m.Get("token"); tok != "" {
		o.conn = append(o.conn, nats.Token(tok))
	}
	return o, nil
}

// JetStream is the component.
type JetStream struct {
	name string
	opt  Options
	log  *slog.Logger
	nc   *nats.Conn
	js   jetstream.JetStream

	ready   atomic.Pointer[error] // nil pointer value: ready
	kick    chan struct{}         // capacity 1: check readiness now
	logged  string                // last readiness problem logged (checkLoop only)
	ensured sync.Map              // topic → struct{}: stream covers it (skiffCreateStream)
	ensure  sync.Mutex

	mu       sync.Mutex
	closed   bool
	durables map[string]string // durable consumer name → topic
	stop     chan struct{}
	wg       sync.WaitGroup

	pubs  chan pubItem // PublishAsync's queue, for the publisher
	waits chan pubWait // published, awaiting the stream's ack (acker)
}

// Asynchronous publishing: one publisher goroutine hands each queued
// message to nats.go's asynchronous publish (its writes coalesce on the
// connection), one acker completes them as the stream's acks come back, in
// order; no goroutine per request.
type pubItem struct {
	subject string
	data    []byte
	id      []byte // Nats-Msg-Id (PublishRequest.EventID), nil: parse data
	done    func(error)
}

type pubWait struct {
	ack  jetstream.PubAckFuture
	done func(error)
}

const pubQueue = 4096

// New connects (in the background when the server is down: healthz says
// not ready until it is up) and starts the readiness checker.
func New(name string, md map[string]string, log *slog.Logger) (*JetStream, error) {
	o, err := ParseOptions(md)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if o.RateLimit > 0 {
		log.Warn("pubsub.jetstream: rateLimit is ignored: skiffd's consumers are pull consumers, which NATS cannot rate-limit",
			"component", name, "rateLimit", o.RateLimit)
	}
	j := &JetStream{name: name, opt: o, log: log, stop: make(chan struct{}), kick: make(chan struct{}, 1), durables: map[string]string{},
		pubs: make(chan pubItem, pubQueue), waits: make(chan pubWait, pubQueue)}
	opts := append(slices.Clone(o.conn),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond),
		// No reconnect buffer: a publish while disconnected fails now
		// rather than being sent later, after the caller got a 500.
		nats.ReconnectBufSize(-1),
		nats.ConnectHandler(func(*nats.Conn) { j.kickCheck() }),
		nats.ReconnectHandler(func(*nats.Conn) { j.kickCheck() }),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { j.kickCheck() }),
	)
	j.nc, err = nats.Connect(o.NatsURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("pubsub.jetstream: connect %s: %w", o.NatsURL, err)
	}
	// An asynchronous publish not acked within skiffPublishTimeout fails,
	// as a synchronous one does (and nats.go forgets it).
	jo := []jetstream.JetStreamOpt{jetstream.WithPublishAsyncTimeout(o.PublishTimeout), jetstream.WithPublishAsyncMaxPending(pubQueue)}
	switch {
	case o.Domain != "":
		j.js, err = jetstream.NewWithDomain(j.nc, o.Domain, jo...)
	case o.APIPrefix != "":
		j.js, err = jetstream.NewWithAPIPrefix(j.nc, o.APIPrefix, jo...)
	default:
		j.js, err = jetstream.New(j.nc, jo...)
	}
	if err != nil {
		j.nc.Close()
		return nil, fmt.Errorf("pubsub.jetstream: %w", err)
	}
	notYet := fmt.Errorf("pubsub.jetstream %s: not connected to %s yet", name, o.NatsURL)
	j.ready.Store(&notYet)
	j.kickCheck()
	j.wg.Add(1)
	go j.checkLoop()
	j.wg.Go(j.publisher)
	j.wg.Go(j.acker)
	return j, nil
}

// AsyncPublishes: publishes go through the publisher (pubsub.AsyncPublisher).
func (j *JetStream) AsyncPublishes() bool { return true }

// PublishAsync queues the message for the publisher; a full queue or a
// closed component fails at once.
func (j *JetStream) PublishAsync(req *pubsub.PublishRequest, done func(error)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	pubsub.Enqueue(j.pubs, pubItem{subject: req.Topic, data: req.Data, id: req.EventID, done: done}, j.closed, done, "NATS")
}

func (j *JetStream) publisher() {
	defer close(j.waits)
	for {
		select {
		case it := <-j.pubs:
			j.publishAsync(it)
		case <-j.stop:
			// Close: nothing more comes (PublishAsync checks closed under
			// the lock); send what is queued.
			for {
				select {
				case it := <-j.pubs:
					j.publishAsync(it)
				default:
					return
				}
			}
		}
	}
}

// publishAsync sends one message (the checks Publish makes, then nats.go's
// asynchronous publish) and hands its ack to the acker.
func (j *JetStream) publishAsync(it pubItem) {
	// ensureStream's own fast path, checked here to spare a context per
	// publish.
	if _, ok := j.ensured.Load(it.subject); !ok && j.opt.CreateStream {
		ctx, cancel := context.WithTimeout(context.Background(), j.opt.PublishTimeout)
		err := j.ensureStream(ctx, it.subject)
		cancel()
		if err != nil {
			it.done(fmt.Errorf("publish: %w", err))
			return
		}
	}
	if !j.nc.IsConnected() {
		it.done(fmt.Errorf("publish: nats: not connected to %s (%s)", j.opt.NatsURL, j.nc.Status()))
		return
	}
	msg := &nats.Msg{Subject: it.subject, Data: it.data}
	id := string(it.id)
	if id == "" {
		id = cloudEventID(it.data)
	}
	if id != "" {
		msg.Header = nats.Header{jetstream.MsgIDHeader: []string{id}}
	}
	ack, err := j.js.PublishMsgAsync(msg)
	if err != nil {
		it.done(fmt.Errorf("publish: jetstream: %w", err))
		return
	}
	j.waits <- pubWait{ack: ack, done: it.done}
}

// acker completes published messages as their acks (or errors, or the
// publish timeout) come back; they come in publishing order.
func (j *JetStream) acker() {
	for w := range j.waits {
		select {
		case <-w.ack.Ok():
			w.done(nil)
		case err := <-w.ack.Err():
			w.done(fmt.Errorf("publish: jetstream: %w", err))
		}
	}
}

// check refreshes the readiness state: connected, and the stream exists
// (when streamName is set and we do not create it). A new problem is
// logged once; "not connected" only when a periodic check still finds it
// (the first connect is usually a few milliseconds away).
func (j *JetStream) check(periodic bool) {
	var err error
	switch {
	case !j.nc.IsConnected():
		err = fmt.Errorf("pubsub.jetstream %s: not connected to %s (%s)", j.name, j.opt.NatsURL, j.nc.Status())
	case j.opt.StreamName != "" && !j.opt.CreateStream:
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, e := j.js.Stream(ctx, j.opt.StreamName)
		cancel()
		if errors.Is(e, jetstream.ErrStreamNotFound) {
			err = fmt.Errorf("pubsub.jetstream %s: stream %q does not exist on %s: every publish would fail (create it, or set skiffCreateStream: \"true\")", j.name, j.opt.StreamName, j.opt.NatsURL)
		} else if e != nil {
			err = fmt.Errorf("pubsub.jetstream %s: stream %q: %w", j.name, j.opt.StreamName, e)
		}
	}
	if err == nil {
		j.ready.Store(nil)
		if j.logged != "" {
			j.log.Info("pubsub.jetstream: ready", "component", j.name)
			j.logged = ""
		}
		return
	}
	j.ready.Store(&err)
	if msg := err.Error(); msg != j.logged && (periodic || j.nc.IsConnected()) {
		j.log.Warn(msg, "component", j.name)
		j.logged = msg
	}
}

// kickCheck asks the checker for a check now (from nats.go's callbacks,
// which must not block).
func (j *JetStream) kickCheck() {
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

func (j *JetStream) checkLoop() {
	defer j.wg.Done()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-j.kick:
			j.check(false)
		case <-t.C:
			j.check(true)
		}
	}
}

// Ready is the healthz readiness probe (never blocks: the state is
// refreshed in the background).
func (j *JetStream) Ready() error {
	if p := j.ready.Load(); p != nil {
		return *p
	}
	return nil
}

// Features: none (as daprd's).
func (j *JetStream) Features() pubsub.Features { return 0 }

// ensureStream makes the stream cover topic (skiffCreateStream only).
func (j *JetStream) ensureStream(ctx context.Context, topic string) error {
	if !j.opt.CreateStream {
		return nil
	}
	if _, ok := j.ensured.Load(topic); ok {
		return nil
	}
	j.ensure.Lock()
	defer j.ensure.Unlock()
	if _, ok := j.ensured.Load(topic); ok {
		return nil
	}
	s, err := j.js.Stream(ctx, j.opt.StreamName)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		_, err = j.js.CreateStream(ctx, jetstream.StreamConfig{Name: j.opt.StreamName, Subjects: []string{topic}, Storage: jetstream.FileStorage, MaxMsgs: j.opt.StreamMaxMsgs})
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("create stream %s: %w", j.opt.StreamName, err)
		}
		if err == nil {
			j.log.Info("pubsub.jetstream: created stream (skiffCreateStream)", "component", j.name, "stream", j.opt.StreamName)
			j.ensured.Store(topic, struct{}{})
			j.kickCheck()
			return nil
		}
		if s, err = j.js.Stream(ctx, j.opt.StreamName); err != nil {
			return fmt.Errorf("stream %s: %w", j.opt.StreamName, err)
		}
	case err != nil:
		return fmt.Errorf("stream %s: %w", j.opt.StreamName, err)
	}
	cfg := s.CachedInfo().Config
	// The component's limit wins over an older one (it was changed in
	// the component file): an unread message over the limit is discarded.
	if !slices.Contains(cfg.Subjects, topic) || cfg.MaxMsgs != j.opt.StreamMaxMsgs {
		if !slices.Contains(cfg.Subjects, topic) {
			cfg.Subjects = append(cfg.Subjects, topic)
		}
		cfg.MaxMsgs = j.opt.StreamMaxMsgs
		if _, err := j.js.UpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("update stream %s (subject %s, skiffStreamMaxMsgs): %w", j.opt.StreamName, topic, err)
		}
	}
	j.ensured.Store(topic, struct{}{})
	return nil
}

// cloudEventID returns the "id" of a CloudEvent JSON object, or "".
func cloudEventID(data []byte) string {
	if !bytes.Contains(data, []byte(`"id"`)) {
		return ""
	}
	var ev struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(data, &ev) != nil || len(ev.ID) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(ev.ID, &s) == nil {
		return s
	}
	return ""
}

func (j *JetStream) closedErr() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return pubsub.ErrClosed
	}
	return nil
}

// Publish sends the message and waits for the stream's ack.
func (j *JetStream) Publish(ctx context.Context, req *pubsub.PublishRequest) error {
	if err := j.closedErr(); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, j.opt.PublishTimeout)
		defer cancel()
	}
	if err := j.ensureStream(ctx, req.Topic); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if !j.nc.IsConnected() {
		return fmt.Errorf("publish: nats: not connected to %s (%s)", j.opt.NatsURL, j.nc.Status())
	}
	var opts []jetstream.PublishOpt
	id := string(req.EventID) // the block wrote it: no need to parse the event
	if id == "" {
		id = cloudEventID(req.Data)
	}
	if id != "" {
		opts = append(opts, jetstream.WithMsgID(id))
	}
	if _, err := j.js.Publish(ctx, req.Topic, req.Data, opts...); err != nil {
		return fmt.Errorf("publish: jetstream: %w", err)
	}
	return nil
}

// BulkPublish publishes the entries asynchronously and waits for every ack.
func (j *JetStream) BulkPublish(ctx context.Context, req *pubsub.BulkPublishRequest) []pubsub.BulkFailure {
	var failed []pubsub.BulkFailure
	fail := func(id string, err error) { failed = append(failed, pubsub.BulkFailure{EntryID: id, Err: err}) }
	if err := j.closedErr(); err != nil {
		for _, e := range req.Entries {
			fail(e.EntryID, err)
		}
		return failed
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, j.opt.PublishTimeout)
		defer cancel()
	}
	if err := j.ensureStream(ctx, req.Topic); err != nil {
		for _, e := range req.Entries {
			fail(e.EntryID, fmt.Errorf("bulk publish: %w", err))
		}
		return failed
	}
	type pending struct {
		id  string
		ack jetstream.PubAckFuture
	}
	var acks []pending
	for _, e := range req.Entries {
		var opts []jetstream.PublishOpt
		if id := cloudEventID(e.Event); id != "" {
			opts = append(opts, jetstream.WithMsgID(id))
		}
		f, err := j.js.PublishAsync(req.Topic, e.Event, opts...)
		if err != nil {
			fail(e.EntryID, fmt.Errorf("bulk publish: jetstream: %w", err))
			continue
		}
		acks = append(acks, pending{e.EntryID, f})
	}
	for _, p := range acks {
		select {
		case <-p.ack.Ok():
		case err := <-p.ack.Err():
			fail(p.id, fmt.Errorf("bulk publish: jetstream: %w", err))
		case <-ctx.Done():
			fail(p.id, fmt.Errorf("bulk publish: jetstream: %w", ctx.Err()))
		}
	}
	return failed
}

// durable is the consumer's name for topic.
func (j *JetStream) durable(topic string) string {
	switch {
	case j.opt.DurableName != "":
		return j.opt.DurableName
	case j.opt.QueueGroupName != "":
		return j.opt.QueueGroupName
	}
	name := j.opt.ConsumerID + "-" + topic
	// Consumer names may not hold '.', '*', '>' or spaces.
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t':
			return '_'
		}
		return r
	}, name)
}

// Subscribe starts the topic's consumer loop (which creates the consumer,
// retrying while the server or the stream is missing).
func (j *JetStream) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, h pubsub.Handler) error {
	return j.start(ctx, req, func(ctx context.Context, topic string) { j.consume(ctx, topic, h) })
}

// start runs a topic's consumer loop, checking that its durable consumer
// serves no other topic.
func (j *JetStream) start(ctx context.Context, req pubsub.SubscribeRequest, loop func(ctx context.Context, topic string)) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return pubsub.ErrClosed
	}
	topic := strings.Clone(req.Topic)
	// One durable consumer filters one subject: a second topic on the same
	// durable name would silently take the first one's consumer over.
	d := j.durable(topic)
	if prev, ok := j.durables[d]; ok && prev != topic {
		return fmt.Errorf("pubsub.jetstream %s: durable consumer %q already serves topic %s; topic %s needs its own (leave durableName unset: skiff then names it consumerID-topic)", j.name, d, prev, topic)
	}
	j.durables[d] = topic
	lifecycle.Go(&j.wg, ctx, j.stop, func(ctx context.Context) { loop(ctx, topic) })
	return nil
}

func (j *JetStream) consumer(ctx context.Context, topic string) (jetstream.Consumer, error) {
	if err := j.ensureStream(ctx, topic); err != nil {
		return nil, err
	}
	stream := j.opt.StreamName
	if stream == "" {
		s, err := j.js.StreamNameBySubject(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("no stream for subject %s: %w", topic, err)
		}
		stream = s
	}
	cfg := j.opt.Consumer
	cfg.Durable = j.durable(topic)
	cfg.FilterSubject = topic
	c, err := j.js.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("consumer %s on stream %s: %w", cfg.Durable, stream, err)
	}
	return c, nil
}

// Lanes: one ordered lane; 0 with concurrency: parallel, whose deliveries
// go one at a time each through Subscribe, as many at once as daprd's.
func (j *JetStream) Lanes(pubsub.SubscribeRequest) int {
	if j.opt.Parallel {
		return 0
	}
	return 1
}

// AnswerTimeout is ackWait (the server's 30 s when unset): past it the
// server hands the message out again anyway.
func (j *JetStream) AnswerTimeout(pubsub.SubscribeRequest) time.Duration {
	if w := j.opt.Consumer.AckWait; w > 0 {
		return w
	}
	return 30 * time.Second
}

// SubscribeWindowed is Subscribe with up to window messages (and at most
// maxAckPending) in flight to the app, in order.
func (j *JetStream) SubscribeWindowed(ctx context.Context, req pubsub.SubscribeRequest, window int, h pubsub.AsyncHandler) error {
	if j.opt.Parallel {
		return errors.New("pubsub.jetstream: concurrency: parallel is delivered through Subscribe")
	}
	return j.start(ctx, req, func(ctx context.Context, topic string) { j.consumeWindowed(ctx, topic, window, h) })
}

// subscribed waits for the topic's consumer (creating it, retrying while
// the server or the stream is missing) and starts iterating it, fetching
// ahead as many messages as maxAckPending allows (256 by default); nil
// when ctx ended first.
func (j *JetStream) subscribed(ctx context.Context, topic string) (jetstream.MessagesContext, int) {
	var cons jetstream.Consumer
	backoff := 100 * time.Millisecond
	warned := false
	for cons == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := j.consumer(cctx, topic)
		cancel()
		if err == nil {
			cons = c
			break
		}
		if ctx.Err() != nil {
			return nil, 0
		}
		if !warned {
			j.log.Warn("pubsub.jetstream: cannot subscribe yet; retrying", "component", j.name, "topic", topic, "error", err)
			warned = true
		}
		if !lifecycle.Sleep(ctx, nil, backoff) {
			return nil, 0
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	if warned {
		j.log.Info("pubsub.jetstream: subscribed", "component", j.name, "topic", topic)
	}
	ahead := 256
	if n := j.opt.Consumer.MaxAckPending; n > 0 {
		ahead = max(1, min(n, 1024))
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(ahead))
	if err != nil {
		j.log.Error("pubsub.jetstream: consume: "+err.Error(), "component", j.name, "topic", topic)
		return nil, 0
	}
	go func() {
		<-ctx.Done()
		// Drain: messages fetched ahead but not delivered go back to the
		// server now rather than after ackWait.
		it.Drain()
	}()
	return it, ahead
}

// consume delivers the topic's messages in order (or, with concurrency:
// parallel, as many at once as fetched ahead, up to 64) until ctx ends.
func (j *JetStream) consume(ctx context.Context, topic string, h pubsub.Handler) {
	it, ahead := j.subscribed(ctx, topic)
	if it == nil {
		return
	}
	deliver := func(m jetstream.Msg) { j.deliver(ctx, topic, m, h) }
	if j.opt.Parallel {
		// concurrency: parallel, as daprd: up to `ahead` deliveries at
		// once, no order.
		work := make(chan jetstream.Msg)
		var workers sync.WaitGroup
		defer func() { close(work); workers.Wait() }()
		for i := 0; i < min(ahead, 64); i++ {
			workers.Go(func() {
				for m := range work {
					j.deliver(ctx, topic, m, h)
				}
			})
		}
		deliver = func(m jetstream.Msg) { work <- m }
	}
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			if ctx.Err() != nil {
				return
			}
			// Missed heartbeats while the server is away: the iterator
			// keeps trying; pause a little to avoid spinning.
			if !lifecycle.Sleep(ctx, nil, 100*time.Millisecond) {
				return
			}
			continue
		}
		if ctx.Err() != nil {
			_ = m.Nak()
			continue
		}
		deliver(m)
	}
}

// consumeWindowed feeds the topic's messages, in order, to an Ordered
// window: acknowledged as the app takes them, InProgress while a failed one
// waits for its redelivery, terminated at maxDeliver, handed back (Nak) at
// shutdown.
func (j *JetStream) consumeWindowed(ctx context.Context, topic string, window int, h pubsub.AsyncHandler) {
	it, ahead := j.subscribed(ctx, topic)
	if it == nil {
		return
	}
	// At shutdown, what was fetched but not taken is handed back (Nak) only
	// once the iterator has stopped: a Nak while our pull request is still
	// open brings the message straight back to it, where it would wait for
	// ackWait.
	var (
		backMu sync.Mutex
		back   []jetstream.Msg
	)
	giveBack := func(m jetstream.Msg) {
		backMu.Lock()
		back = append(back, m)
		backMu.Unlock()
	}
	src := make(chan pubsub.Item[jetstream.Msg])
	go func() {
		defer close(src)
		var stopping time.Time
		for {
			m, err := it.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
					return
				}
				if ctx.Err() != nil {
					// Drain is under way: the iterator ends soon (or
					// never, if the server went away: give up then).
					if stopping.IsZero() {
						stopping = time.Now()
					} else if time.Since(stopping) > 5*time.Second {
						return
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				if !lifecycle.Sleep(ctx, nil, 100*time.Millisecond) {
					return
				}
				continue
			}
			item := pubsub.Item[jetstream.Msg]{Msg: pubsub.Message{Topic: topic, Data: m.Data(), Metadata: map[string]string{"Topic": m.Subject()}}, Tok: m}
			select {
			case src <- item:
			case <-ctx.Done():
				giveBack(m)
			}
		}
	}()
	o := &pubsub.Ordered[jetstream.Msg]{
		Window: min(max(window, 1), ahead), H: h,
		Ack: func(m jetstream.Msg) {
			if j.opt.Consumer.AckPolicy == jetstream.AckNonePolicy {
				return
			}
			if err := m.Ack(); err != nil {
				j.log.Warn("pubsub.jetstream: ack failed; the message will be delivered again", "component", j.name, "topic", topic, "error", err)
			}
		},
		Retry: func(m jetstream.Msg, failures int) bool {
			var delivered uint64 = 1
			if md, err := m.Metadata(); err == nil {
				delivered = md.NumDelivered
			}
			if limit := j.opt.Consumer.MaxDeliver; limit > 0 && delivered+uint64(failures)-1 >= uint64(limit) {
				j.log.Warn("pubsub.jetstream: maxDeliver reached; dropping the message", "component", j.name, "topic", topic, "deliveries", delivered+uint64(failures)-1)
				_ = m.Term()
				return false
			}
			_ = m.InProgress() // restart ackWait: it comes again from here
			return true
		},
		Release:    giveBack,
		MinBackoff: 50 * time.Millisecond,
		MaxBackoff: 5 * time.Second,
		Stop:       j.stop,
	}
	o.Run(ctx, src)
	for item := range src { // until the iterator has stopped
		giveBack(item.Tok)
	}
	for _, m := range back {
		_ = m.Nak()
	}
}

// deliver hands one message to the handler until it is accepted, then
// acks it.
func (j *JetStream) deliver(ctx context.Context, topic string, m jetstream.Msg, h pubsub.Handler) {
	msg := pubsub.Message{Topic: topic, Data: m.Data(), Metadata: map[string]string{"Topic": m.Subject()}}
	var delivered uint64 = 1
	if md, err := m.Metadata(); err == nil {
		delivered = md.NumDelivered
	}
	backoff := 50 * time.Millisecond
	for attempt := uint64(0); ; attempt++ {
		err := h(ctx, &msg)
		if err == nil {
			if j.opt.Consumer.AckPolicy != jetstream.AckNonePolicy {
				if err := m.Ack(); err != nil {
					j.log.Warn("pubsub.jetstream: ack failed; the message will be delivered again", "component", j.name, "topic", topic, "error", err)
				}
			}
			return
		}
		if limit := j.opt.Consumer.MaxDeliver; limit > 0 && delivered+attempt >= uint64(limit) {
			j.log.Warn("pubsub.jetstream: maxDeliver reached; dropping the message", "component", j.name, "topic", topic, "deliveries", delivered+attempt)
			_ = m.Term()
			return
		}
		if ctx.Err() != nil {
			_ = m.Nak()
			return
		}
		_ = m.InProgress() // restart ackWait: we are still on it
		if !lifecycle.Sleep(ctx, nil, backoff) {
			_ = m.Nak()
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Close stops delivery and closes the connection.
func (j *JetStream) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	close(j.stop)
	j.mu.Unlock()
	j.wg.Wait()
	j.nc.Close()
	return nil
}
