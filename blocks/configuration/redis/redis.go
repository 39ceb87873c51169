package redis

import (
	"context"
	"fmt"
	"github.com/skiffd/skiff/blocks/internal/uuid"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/configuration"
	"github.com/skiffd/skiff/blocks/internal/redisconn"
)

// Store is the Redis configuration store.
type Store struct {
	name string
	conn *redisconn.Conn
	log  *slog.Logger
	db   int

	mu     sync.Mutex
	subs   map[string]*sub
	closed bool
	wg     sync.WaitGroup
}

// New parses md and starts connecting.
func New(name string, md map[string]string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.Default()
	}
	opt, err := redisconn.Parse(md, "redis configuration "+name)
	if err != nil {
		return nil, err
	}
	return &Store{
		name: name, log: log, db: opt.DB, subs: map[string]*sub{},
		conn: redisconn.New(opt, "redis configuration "+name, log, nil),
	}, nil
}

// InlineSafe: network I/O, never on the event loop.
func (s *Store) InlineSafe() bool { return false }

// Ready reports whether Redis is connected.
func (s *Store) Ready() error { return s.conn.Ready() }

// ParseValue splits daprd's "value||version" (parts after the second are
// dropped, as daprd does).
func ParseValue(v string) (value, version string) {
	parts := strings.Split(v, "||")
	if len(parts) > 1 {
		return parts[0], parts[1]
	}
	return parts[0], ""
}

// Get reads keys (every string key of the database when keys is empty).
func (s *Store) Get(ctx context.Context, keys []string, _ map[string]string) (map[string]*configuration.Item, error) {
	c, err := s.conn.Client(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		if keys, err = scanAll(ctx, c); err != nil {
			return nil, fmt.Errorf("failed to list keys: %w", err)
		}
	}
	items := make(map[string]*configuration.Item, len(keys))
	if len(keys) == 0 {
		return items, nil
	}
	cmds := make(rueidis.Commands, len(keys))
	for i, k := range keys {
		cmds[i] = c.B().Get().Key(k).Build()
	}
	for i, r := range c.DoMulti(ctx, cmds...) {
		v, err := r.ToString()
		if rueidis.IsRedisNil(err) {
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), "WRONGTYPE") {
				continue // daprd skips keys that are not strings
			}
			return nil, fmt.Errorf("fail to get configuration for redis key=%s, error is %w", keys[i], err)
		}
		value, version := ParseValue(v)
		if value == "" {
			continue
		}
		items[keys[i]] = &configuration.Item{Value: value, Version: version}
	}
	return items, nil
}

func scanAll(ctx context.Context, c rueidis.Client) ([]string, error) {
	var keys []string
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Count(1000).Build()).AsScanEntry()
		if err != nil {
			return nil, err
		}
		keys = append(keys, e.Elements...)
		if e.Cursor == 0 {
			return keys, nil
		}
		cursor = e.Cursor
	}
}

func (s *Store) channelPrefix() string { return "__keyspace@" + strconv.Itoa(s.db) + "__:" }

// Subscribe starts watching keys and returns once Redis confirmed the
// subscription (daprd returns before; confirming first means no change
// made after the answer is missed).
func (s *Store) Subscribe(ctx context.Context, keys []string, md map[string]string, h configuration.Handler) (string, error) {
	c, err := s.conn.Client(ctx)
	if err != nil {
		return "", err
	}
	id := uuid.New()
	sb := &sub{
		s: s, id: id, h: h, md: md,
		wake: make(chan struct{}, 1), done: make(chan struct{}), ready: make(chan error, 1),
	}
	prefix := s.channelPrefix()
	if len(keys) == 0 {
		sb.pattern = prefix + "*"
	} else {
		for _, k := range keys {
			sb.channels = append(sb.channels, prefix+k)
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", fmt.Errorf("redis configuration %s: closed", s.name)
	}
	s.subs[id] = sb
	s.wg.Add(2)
	s.mu.Unlock()
	go func() { defer s.wg.Done(); sb.listen(c) }()
	go func() { defer s.wg.Done(); sb.deliver() }()
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case err = <-sb.ready:
	case <-wait.Done():
		err = wait.Err()
	}
	if err != nil {
		_ = s.Unsubscribe(context.Background(), id)
		return "", fmt.Errorf("redis configuration %s: subscribing: %w", s.name, err)
	}
	return id, nil
}

// Unsubscribe ends subscription id.
func (s *Store) Unsubscribe(_ context.Context, id string) error {
	s.mu.Lock()
	sb, ok := s.subs[id]
	delete(s.subs, id)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("subscription with id %s does not exist", id)
	}
	close(sb.done)
	return nil
}

// Close ends the subscriptions and the connection.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	for id, sb := range s.subs {
		close(sb.done)
		delete(s.subs, id)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return s.conn.Close()
}

type event struct{ key, op string }

type sub struct {
	s        *Store
	id       string
	h        configuration.Handler
	md       map[string]string
	channels []string
	pattern  string

	mu    sync.Mutex
	queue []event
	wake  chan struct{}
	done  chan struct{}
	ready chan error // the first subscription's outcome
	once  sync.Once
}

func (sb *sub) signalReady(err error) {
	sb.once.Do(func() { sb.ready <- err })
}

// listen keeps the subscription alive: a dedicated connection, SUBSCRIBE
// or PSUBSCRIBE, and a new attempt with backoff when it drops.
func (sb *sub) listen(c rueidis.Client) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-sb.done; cancel() }()
	backoff := 100 * time.Millisecond
	warned := false
	for ctx.Err() == nil {
		err := sb.listenOnce(ctx, c)
		if ctx.Err() != nil {
			return
		}
		sb.signalReady(err)
		if err != nil && !warned {
			sb.s.log.Warn("redis configuration: subscription interrupted; re-subscribing", "store", sb.s.name, "subscription", sb.id, "error", err)
			warned = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
		if nc, err := sb.s.conn.Client(ctx); err == nil {
			c = nc
		}
	}
}

func (sb *sub) listenOnce(ctx context.Context, c rueidis.Client) error {
	// As daprd: make sure Redis publishes keyspace events.
	if err := c.Do(ctx, c.B().ConfigSet().ParameterValue().ParameterValue("notify-keyspace-events", "KA").Build()).Error(); err != nil {
		sb.s.log.Warn("redis configuration: CONFIG SET notify-keyspace-events KA failed; updates arrive only if it is already enabled", "store", sb.s.name, "error", err)
	}
	dc, release := c.Dedicate()
	defer release()
	prefix := sb.s.channelPrefix()
	want := len(sb.channels)
	if sb.pattern != "" {
		want = 1
	}
	var confirmed int
	gone := dc.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage: func(m rueidis.PubSubMessage) {
			key, ok := strings.CutPrefix(m.Channel, prefix)
			if !ok {
				return
			}
			sb.push(event{key, m.Message})
		},
		OnSubscription: func(s rueidis.PubSubSubscription) {
			if s.Kind == "subscribe" || s.Kind == "psubscribe" {
				confirmed++
				if confirmed == want {
					sb.signalReady(nil)
				}
			}
		},
	})
	var cmd rueidis.Completed
	if sb.pattern != "" {
		cmd = dc.B().Psubscribe().Pattern(sb.pattern).Build()
	} else {
		cmd = dc.B().Subscribe().Channel(sb.channels...).Build()
	}
	if err := dc.Do(ctx, cmd).Error(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-gone:
		if err == nil {
			err = fmt.Errorf("connection closed")
		}
		return err
	}
}

func (sb *sub) push(e event) {
	sb.mu.Lock()
	sb.queue = append(sb.queue, e)
	sb.mu.Unlock()
	select {
	case sb.wake <- struct{}{}:
	default:
	}
}

// deliver hands queued changes to the block, one at a time.
func (sb *sub) deliver() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-sb.done; cancel() }()
	for {
		select {
		case <-sb.done:
			return
		case <-sb.wake:
		}
		for ctx.Err() == nil {
			sb.mu.Lock()
			if len(sb.queue) == 0 {
				sb.mu.Unlock()
				break
			}
			e := sb.queue[0]
			sb.queue = sb.queue[1:]
			sb.mu.Unlock()
			var items map[string]*configuration.Item
			if e.op == "del" {
				items = map[string]*configuration.Item{e.key: nil}
			} else {
				got, err := sb.s.Get(ctx, []string{e.key}, sb.md)
				if err != nil {
					if ctx.Err() == nil {
						sb.s.log.Error("redis configuration: reading a changed key: "+err.Error(), "store", sb.s.name, "key", e.key)
					}
					continue
				}
				items = got
			}
			if len(items) == 0 {
				continue
			}
			sb.h(ctx, &configuration.Update{ID: sb.id, Items: items})
		}
	}
}
