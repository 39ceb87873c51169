package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/skiffd/skiff/blocks/pubsub/internal/lifecycle"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/internal/redisconn"
	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/internal/mdutil"
)

// Options are the component's parsed metadata (defaults as daprd's).
type Options struct {
	ConsumerID        string
	ProcessingTimeout time.Duration // 60s
	RedeliverInterval time.Duration // 15s
	QueueDepth        int64         // 100
	Concurrency       int64         // 10
	MaxLenApprox      int64         // 0: no trimming
	// Block is how long one XREADGROUP waits for new entries.
	Block time.Duration
}

// Streams is the Redis Streams pub/sub component.
type Streams struct {
	name string
	opt  Options
	conn *redisconn.Conn
	log  *slog.Logger

	mu     sync.RWMutex
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup

	pubs chan pubItem // PublishAsync's queue, for the publisher
}

// pubItem is one queued asynchronous publish.
type pubItem struct {
	req  pubsub.PublishRequest
	done func(error)
	err  error
}

// Asynchronous publishing: one publisher goroutine sends everything that
// queued while its previous pipeline was out as one DoMulti, so many
// publishes share a write and a goroutine wake-up instead of each taking a
// worker goroutine and a flush of its own.
const (
	pubQueue      = 4096
	pubBatch      = 256
	publishExpiry = 30 * time.Second // a batch's bound when Redis does not answer
)

// ParseOptions reads the pub/sub metadata (consumerID, processingTimeout,
// redeliverInterval, queueDepth, concurrency, maxLenApprox).
func ParseOptions(md map[string]string) (Options, error) {
	m := mdutil.MD{M: md, What: "pubsub.redis"}
	o := Options{ConsumerID: m.Get("consumerID"), Block: 2 * time.Second}
	var err error
	if o.ConsumerID == "" {
		return o, errors.New("pubsub.redis: consumerID is empty")
	}
	if o.ProcessingTimeout, err = m.Duration("processingTimeout", 60*time.Second); err != nil {
		return o, err
	}
	if o.RedeliverInterval, err = m.Duration("redeliverInterval", 15*time.Second); err != nil {
		return o, err
	}
	if o.QueueDepth, err = m.Int("queueDepth", 100); err != nil {
		return o, err
	}
	if o.Concurrency, err = m.Int("concurrency", 10); err != nil {
		return o, err
	}
	if o.MaxLenApprox, err = m.Int("maxLenApprox", 0); err != nil {
		return o, err
	}
	o.QueueDepth = max(o.QueueDepth, 1)
	o.Concurrency = max(o.Concurrency, 1)
	return o, nil
}

// New builds the component; it connects in the background (Ready reports
// progress), so a Redis that is down at startup is not fatal.
func New(name string, md map[string]string, log *slog.Logger) (*Streams, error) {
	opt, err := ParseOptions(md)
	if err != nil {
		return nil, err
	}
	co, err := redisconn.Parse(md, "pubsub.redis "+name)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Streams{
		name: name, opt: opt, log: log,
		conn: redisconn.New(co, "pubsub.redis "+name, log, nil),
		stop: make(chan struct{}),
		pubs: make(chan pubItem, pubQueue),
	}
	s.wg.Go(s.publisher)
	return s, nil
}

// AsyncPublishes: publishes are batched (pubsub.AsyncPublisher).
func (s *Streams) AsyncPublishes() bool { return true }

// PublishAsync queues the XADD for the publisher; a full queue or a closed
// component fails at once.
func (s *Streams) PublishAsync(req *pubsub.PublishRequest, done func(error)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pubsub.Enqueue(s.pubs, pubItem{req: *req, done: done}, s.closed, done, "Redis")
}

func (s *Streams) publisher() {
	batch := make([]pubItem, 0, pubBatch)
	cmds := make(rueidis.Commands, 0, pubBatch)
	for {
		select {
		case it := <-s.pubs:
			batch = s.gather(append(batch[:0], it))
		case <-s.stop:
			// Close: nothing more comes (PublishAsync checks closed under
			// the lock); send what is queued, then stop.
			if batch = s.gather(batch[:0]); len(batch) == 0 {
				return
			}
		}
		cmds = s.sendBatch(batch, cmds)
		clear(batch)
	}
}

// gather adds what is queued, without waiting, up to a batch.
func (s *Streams) gather(batch []pubItem) []pubItem {
	for len(batch) < pubBatch {
		select {
		case it := <-s.pubs:
			batch = append(batch, it)
		default:
			return batch
		}
	}
	return batch
}

// sendBatch sends the batch's XADDs in one pipeline and completes each.
func (s *Streams) sendBatch(batch []pubItem, cmds rueidis.Commands) rueidis.Commands {
	ctx, cancel := context.WithTimeout(context.Background(), publishExpiry)
	defer cancel()
	c, err := s.conn.Client(ctx)
	if err != nil {
		for i := range batch {
			batch[i].done(fmt.Errorf("publish: %w", err))
		}
		return cmds
	}
	cmds = cmds[:0]
	for i := range batch {
		cmd, err := s.xadd(c, &batch[i].req)
		if err != nil {
			batch[i].err = err
			continue
		}
		cmds = append(cmds, cmd)
	}
	var res []rueidis.RedisResult
	if len(cmds) > 0 {
		res = c.DoMulti(ctx, cmds...)
	}
	j := 0
	for i := range batch {
		if err := batch[i].err; err != nil {
			batch[i].done(err)
			continue
		}
		err := res[j].Error()
		j++
		if err != nil {
			err = fmt.Errorf("publish: redis streams: %w", err)
		}
		batch[i].done(err)
	}
	clear(cmds)
	return cmds[:0]
}

// Ready is the healthz readiness probe: nil once Redis is connected.
func (s *Streams) Ready() error { return s.conn.Ready() }

// Features: none (daprd's Redis Streams component lists none).
func (s *Streams) Features() pubsub.Features { return 0 }

func (s *Streams) xadd(c rueidis.Client, req *pubsub.PublishRequest) (rueidis.Completed, error) {
	args := make([]string, 0, 8)
	if s.opt.MaxLenApprox > 0 {
		args = append(args, "MAXLEN", "~", strconv.FormatInt(s.opt.MaxLenApprox, 10))
	}
	args = append(args, "*", "data", rueidis.BinaryString(req.Data))
	// daprd always writes the field (its request metadata is never nil).
	md := []byte("{}")
	if len(req.Metadata) > 0 {
		b, err := json.Marshal(req.Metadata)
		if err != nil {
			return rueidis.Completed{}, fmt.Errorf("publish: metadata: %w", err)
		}
		md = b
	}
	args = append(args, "metadata", rueidis.BinaryString(md))
	return c.B().Arbitrary("XADD").Keys(req.Topic).Args(args...).Build(), nil
}

// Publish appends the message to the topic's stream (XADD).
func (s *Streams) Publish(ctx context.Context, req *pubsub.PublishRequest) error {
	c, err := s.conn.Client(ctx)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	cmd, err := s.xadd(c, req)
	if err != nil {
		return err
	}
	if err := c.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("publish: redis streams: %w", err)
	}
	return nil
}

// BulkPublish sends the entries' XADDs in one pipeline.
func (s *Streams) BulkPublish(ctx context.Context, req *pubsub.BulkPublishRequest) []pubsub.BulkFailure {
	fail := func(err error) []pubsub.BulkFailure {
		f := make([]pubsub.BulkFailure, len(req.Entries))
		for i := range req.Entries {
			f[i] = pubsub.BulkFailure{EntryID: req.Entries[i].EntryID, Err: err}
		}
		return f
	}
	c, err := s.conn.Client(ctx)
	if err != nil {
		return fail(fmt.Errorf("bulk publish: %w", err))
	}
	cmds := make(rueidis.Commands, 0, len(req.Entries))
	var failed []pubsub.BulkFailure
	idx := make([]int, 0, len(req.Entries))
	for i := range req.Entries {
		e := &req.Entries[i]
		cmd, err := s.xadd(c, &pubsub.PublishRequest{Topic: req.Topic, Data: e.Event, Metadata: e.Metadata})
		if err != nil {
			failed = append(failed, pubsub.BulkFailure{EntryID: e.EntryID, Err: err})
			continue
		}
		cmds = append(cmds, cmd)
		idx = append(idx, i)
	}
	for j, r := range c.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			failed = append(failed, pubsub.BulkFailure{EntryID: req.Entries[idx[j]].EntryID, Err: fmt.Errorf("bulk publish: redis streams: %w", err)})
		}
	}
	return failed
}

// Subscribe starts the topic's delivery goroutine; it creates the consumer
// group (and the stream) from the beginning of the stream, as daprd does,
// retrying while Redis is unreachable.
func (s *Streams) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, h pubsub.Handler) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pubsub.ErrClosed
	}
	topic := string([]byte(req.Topic)) // owned copy: the goroutine outlives the request
	lifecycle.Go(&s.wg, ctx, s.stop, func(ctx context.Context) { s.deliver(ctx, topic, h) })
	return nil
}

// entry is one stream entry to deliver: the message and its entry id.
type entry = pubsub.Item[string]

func (s *Streams) toEntries(topic string, raw []rueidis.XRangeEntry, dst []entry, acks *[]string) []entry {
	for _, e := range raw {
		data, ok := e.FieldValues["data"]
		if !ok {
			// Trimmed away (maxLenApprox) while pending, or not ours:
			// nothing to deliver; acknowledge so it leaves the PEL.
			*acks = append(*acks, e.ID)
			continue
		}
		m := pubsub.Message{Topic: topic, Data: []byte(data)}
		if md, ok := e.FieldValues["metadata"]; ok && md != "" && md != "{}" {
			var mm map[string]string
			if json.Unmarshal([]byte(md), &mm) == nil {
				m.Metadata = mm
			}
		}
		dst = append(dst, entry{Msg: m, Tok: e.ID})
	}
	return dst
}

// deliver is the topic's pipeline: a reader (group creation, own pending
// entries, then new ones, periodic reclaiming) feeding `concurrency`
// workers through a queue of queueDepth entries, and an acker that sends
// the workers' acknowledgements in batches. With concurrency 1 the single
// worker keeps the stream's order.
func (s *Streams) deliver(ctx context.Context, topic string, h pubsub.Handler) {
	if !s.waitGroup(ctx, topic) {
		return
	}
	work := make(chan entry, s.opt.QueueDepth)
	acks := make(chan string, s.opt.QueueDepth)
	var inflight sync.Map // ids read and not yet acknowledged
	var workers sync.WaitGroup
	for i := int64(0); i < s.opt.Concurrency; i++ {
		workers.Go(func() {
			for e := range work {
				if !s.handle(ctx, h, &e) {
					continue // stopping: the entry stays pending
				}
				acks <- e.Tok
			}
		})
	}
	ackDone := make(chan struct{})
	go func() {
		defer close(ackDone)
		s.acker(topic, acks, &inflight)
	}()
	s.read(ctx, topic, work, acks, &inflight)
	close(work)
	workers.Wait()
	close(acks)
	<-ackDone
}

// Lanes is daprd's `concurrency`: that many deliveries of a topic at once,
// each lane on its own connection to the app.
func (s *Streams) Lanes(pubsub.SubscribeRequest) int { return int(s.opt.Concurrency) }

// AnswerTimeout is processingTimeout: an entry unanswered that long is
// given up on its connection and delivered again, as the one-at-a-time
// path's handler timeout does.
func (s *Streams) AnswerTimeout(pubsub.SubscribeRequest) time.Duration {
	return s.opt.ProcessingTimeout
}

// SubscribeWindowed is Subscribe with pipelined delivery: the reader feeds
// `concurrency` lanes, each with its share of the window in flight (at
// least one message), so the app sees at most `concurrency` deliveries at
// once, as with daprd, while each lane's connection carries several.
func (s *Streams) SubscribeWindowed(ctx context.Context, req pubsub.SubscribeRequest, window int, h pubsub.AsyncHandler) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return pubsub.ErrClosed
	}
	topic := string([]byte(req.Topic))
	lifecycle.Go(&s.wg, ctx, s.stop, func(ctx context.Context) { s.deliverWindowed(ctx, topic, window, h) })
	return nil
}

func (s *Streams) deliverWindowed(ctx context.Context, topic string, window int, h pubsub.AsyncHandler) {
	if !s.waitGroup(ctx, topic) {
		return
	}
	work := make(chan entry, s.opt.QueueDepth)
	acks := make(chan string, s.opt.QueueDepth)
	var inflight sync.Map
	ackDone := make(chan struct{})
	go func() {
		defer close(ackDone)
		s.acker(topic, acks, &inflight)
	}()
	lanes := int(s.opt.Concurrency)
	per := max(1, (window+lanes-1)/lanes)
	var wg sync.WaitGroup
	for i := range lanes {
		o := &pubsub.Ordered[string]{
			Window: per, Lane: i, H: h,
			Ack:        func(id string) { acks <- id },
			MinBackoff: 50 * time.Millisecond,
			MaxBackoff: min(max(s.opt.RedeliverInterval, 50*time.Millisecond), 5*time.Second),
			Stop:       s.stop,
		}
		wg.Go(func() { o.Run(ctx, work) })
	}
	s.read(ctx, topic, work, acks, &inflight)
	close(work)
	wg.Wait() // every settled delivery has sent its ack
	close(acks)
	<-ackDone
}

func (s *Streams) waitGroup(ctx context.Context, topic string) bool {
	backoff := 100 * time.Millisecond
	warned := false
	for {
		err := s.createGroup(ctx, topic)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if !warned {
			s.log.Warn("pubsub.redis: cannot create the consumer group yet; retrying", "component", s.name, "topic", topic, "error", err)
			warned = true
		}
		if !lifecycle.Sleep(ctx, s.stop, backoff) {
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// read feeds work until ctx ends.
func (s *Streams) read(ctx context.Context, topic string, work chan<- entry, acks chan<- string, inflight *sync.Map) {
	group := s.opt.ConsumerID
	start := "0" // this consumer's own pending entries first (a previous run's)
	lastReclaim := time.Now()
	var batch []entry
	var gone []string
	for ctx.Err() == nil {
		c, err := s.conn.Client(ctx)
		if err != nil {
			if !lifecycle.Sleep(ctx, s.stop, 200*time.Millisecond) {
				return
			}
			continue
		}
		batch, gone = batch[:0], gone[:0]
		if s.opt.ProcessingTimeout > 0 && s.opt.RedeliverInterval > 0 && time.Since(lastReclaim) >= s.opt.RedeliverInterval {
			lastReclaim = time.Now()
			batch = s.reclaim(ctx, c, topic, batch, &gone)
		}
		if len(batch) == 0 && len(gone) == 0 {
			cmd := c.B().Xreadgroup().Group(group, group).Count(s.opt.QueueDepth)
			var full rueidis.Completed
			if start == ">" {
				full = cmd.Block(s.opt.Block.Milliseconds()).Streams().Key(topic).Id(">").Build()
			} else {
				full = cmd.Streams().Key(topic).Id(start).Build()
			}
			res, err := c.Do(ctx, full).AsXRead()
			if err != nil && !rueidis.IsRedisNil(err) {
				if ctx.Err() != nil {
					return
				}
				if isNoGroup(err) {
					// The stream was deleted under us: recreate the group.
					_ = s.createGroup(ctx, topic)
				} else {
					s.log.Warn("pubsub.redis: read failed; retrying", "component", s.name, "topic", topic, "error", err)
				}
				if !lifecycle.Sleep(ctx, s.stop, 200*time.Millisecond) {
					return
				}
				continue
			}
			raw := res[topic]
			if start != ">" {
				if len(raw) == 0 {
					start = ">"
					continue
				}
				start = raw[len(raw)-1].ID // next page of own pending entries
			}
			batch = s.toEntries(topic, raw, batch, &gone)
		}
		for _, id := range gone {
			inflight.Store(id, struct{}{})
			acks <- id
		}
		for i := range batch {
			if _, dup := inflight.LoadOrStore(batch[i].Tok, struct{}{}); dup {
				continue // reclaimed while still queued or being delivered here
			}
			select {
			case work <- batch[i]:
			case <-ctx.Done():
				return
			}
		}
		clear(batch)
	}
}

// acker acknowledges delivered entries in batches; a failure leaves them
// pending, to be delivered again (at-least-once).
func (s *Streams) acker(topic string, acks <-chan string, inflight *sync.Map) {
	ids := make([]string, 0, 256)
	for id := range acks {
		ids = append(ids[:0], id)
	more:
		for len(ids) < cap(ids) {
			select {
			case id, ok := <-acks:
				if !ok {
					break more
				}
				ids = append(ids, id)
			default:
				break more
			}
		}
		s.ack(topic, ids)
		for _, id := range ids {
			inflight.Delete(id)
		}
	}
}

// handle delivers one entry until the handler accepts it (false: stopping).
func (s *Streams) handle(ctx context.Context, h pubsub.Handler, e *entry) bool {
	backoff := 50 * time.Millisecond
	maxB := min(max(s.opt.RedeliverInterval, 50*time.Millisecond), 5*time.Second)
	for {
		if ctx.Err() != nil {
			return false
		}
		hctx, cancel := ctx, context.CancelFunc(nil)
		if s.opt.ProcessingTimeout > 0 {
			hctx, cancel = context.WithTimeout(ctx, s.opt.ProcessingTimeout)
		}
		err := h(hctx, &e.Msg)
		if cancel != nil {
			cancel()
		}
		if err == nil {
			return true
		}
		if !lifecycle.Sleep(ctx, s.stop, backoff) {
			return false
		}
		backoff = min(2*backoff, maxB)
	}
}

func (s *Streams) ack(topic string, ids []string) {
	if len(ids) == 0 {
		return
	}
	// Not the subscription's context: entries the app accepted are
	// acknowledged even while shutting down.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := s.conn.Client(ctx)
	if err == nil {
		err = c.Do(ctx, c.B().Xack().Key(topic).Group(s.opt.ConsumerID).Id(ids...).Build()).Error()
	}
	if err != nil {
		s.log.Warn("pubsub.redis: acknowledging failed; the entries will be delivered again", "component", s.name, "topic", topic, "count", len(ids), "error", err)
	}
}

// reclaim claims entries pending longer than processingTimeout.
func (s *Streams) reclaim(ctx context.Context, c rueidis.Client, topic string, dst []entry, acks *[]string) []entry {
	g := s.opt.ConsumerID
	cmd := c.B().Xautoclaim().Key(topic).Group(g).Consumer(g).
		MinIdleTime(strconv.FormatInt(s.opt.ProcessingTimeout.Milliseconds(), 10)).Start("0-0").Count(s.opt.QueueDepth).Build()
	arr, err := c.Do(ctx, cmd).ToArray()
	if err != nil || len(arr) < 2 {
		if err != nil && ctx.Err() == nil && !rueidis.IsRedisNil(err) {
			s.log.Warn("pubsub.redis: reclaiming pending entries failed", "component", s.name, "topic", topic, "error", err)
		}
		return dst
	}
	raw, err := arr[1].AsXRange()
	if err != nil {
		return dst
	}
	return s.toEntries(topic, raw, dst, acks)
}

func (s *Streams) createGroup(ctx context.Context, topic string) error {
	c, err := s.conn.Client(ctx)
	if err != nil {
		return err
	}
	err = c.Do(ctx, c.B().XgroupCreate().Key(topic).Group(s.opt.ConsumerID).Id("0").Mkstream().Build()).Error()
	if err != nil && !rueidis.IsRedisBusyGroup(err) {
		return fmt.Errorf("subscribe: XGROUP CREATE %s: %w", topic, err)
	}
	return nil
}

func isNoGroup(err error) bool {
	var re *rueidis.RedisError
	return errors.As(err, &re) && len(re.Error()) >= 7 && re.Error()[:7] == "NOGROUP"
}

// Close stops delivery, waits for the loops and closes the connection.
func (s *Streams) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	s.wg.Wait()
	return s.conn.Close()
}
