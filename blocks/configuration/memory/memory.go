package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/skiffd/skiff/blocks/internal/uuid"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/skiffd/skiff/blocks/configuration"
)

// Store is the in-memory configuration store. Safe for concurrent use.
type Store struct {
	mu    sync.Mutex
	items map[string]configuration.Item
	subs  map[string]*sub

	file     string
	fileSeen []byte
	fileKeys map[string]bool
	stop     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
}

// New builds the store from its component metadata.
func New(name string, md map[string]string) (*Store, error) {
	s := &Store{items: map[string]configuration.Item{}, subs: map[string]*sub{}, stop: make(chan struct{})}
	for k, v := range md {
		if key, ok := strings.CutPrefix(k, "item."); ok && key != "" {
			s.items[key] = ParseValue(v)
		}
	}
	s.file = md["itemsFile"]
	if s.file == "" {
		return s, nil
	}
	every := time.Second
	if v := md["pollInterval"]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("configuration.in-memory: pollInterval %q: want a positive duration like 500ms", v)
		}
		every = d
	}
	if err := s.reload(); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go s.watch(every)
	return s, nil
}

// ParseValue splits Redis's "value||version" layout (a third part and on
// are dropped, as daprd does).
func ParseValue(v string) configuration.Item {
	parts := strings.Split(v, "||")
	it := configuration.Item{Value: parts[0]}
	if len(parts) > 1 {
		it.Version = parts[1]
	}
	return it
}

// InlineSafe: the store never blocks.
func (s *Store) InlineSafe() bool { return true }

func (s *Store) watch(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_ = s.reload() // a broken file keeps the last good items
		}
	}
}

// reload reads the items file and applies what changed in it.
func (s *Store) reload() error {
	b, err := os.ReadFile(s.file)
	if err != nil {
		return fmt.Errorf("configuration.in-memory: itemsFile: %w", err)
	}
	s.mu.Lock()
	same := s.fileKeys != nil && bytes.Equal(b, s.fileSeen)
	s.mu.Unlock()
	if same {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("configuration.in-memory: itemsFile %s: %w", s.file, err)
	}
	next := make(map[string]configuration.Item, len(raw))
	for k, v := range raw {
		var str string
		if json.Unmarshal(v, &str) == nil {
			next[k] = ParseValue(str)
			continue
		}
		var it configuration.Item
		if err := json.Unmarshal(v, &it); err != nil {
			return fmt.Errorf("configuration.in-memory: itemsFile %s: key %q: want a string or {value,version,metadata}", s.file, k)
		}
		next[k] = it
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.fileKeys {
		if _, ok := next[k]; !ok {
			s.deleteLocked(k)
		}
	}
	s.fileKeys = map[string]bool{}
	for k, it := range next {
		s.fileKeys[k] = true
		if old, ok := s.items[k]; ok && sameItem(old, it) {
			continue
		}
		s.setLocked(k, it)
	}
	s.fileSeen = b
	return nil
}

func sameItem(a, b configuration.Item) bool {
	if a.Value != b.Value || a.Version != b.Version || len(a.Metadata) != len(b.Metadata) {
		return false
	}
	for k, v := range a.Metadata {
		if w, ok := b.Metadata[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Set stores an item and notifies the subscriptions watching key.
func (s *Store) Set(key string, it configuration.Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLocked(key, it)
}

// Delete removes key; subscriptions watching it get a null item.
func (s *Store) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(key)
}

func (s *Store) setLocked(key string, it configuration.Item) {
	s.items[key] = it
	for _, sb := range s.subs {
		if sb.watches(key) {
			c := it
			sb.push(key, &c)
		}
	}
}

func (s *Store) deleteLocked(key string) {
	if _, ok := s.items[key]; !ok {
		return
	}
	delete(s.items, key)
	for _, sb := range s.subs {
		if sb.watches(key) {
			sb.push(key, nil)
		}
	}
}

// Get returns copies of the items of keys (all items when keys is empty);
// an item with an empty value is left out, as configuration.redis does.
func (s *Store) Get(_ context.Context, keys []string, _ map[string]string) (map[string]*configuration.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]*configuration.Item{}
	if len(keys) == 0 {
		for k, it := range s.items {
			if it.Value != "" {
				c := it
				out[k] = &c
			}
		}
		return out, nil
	}
	for _, k := range keys {
		if it, ok := s.items[k]; ok && it.Value != "" {
			c := it
			out[k] = &c
		}
	}
	return out, nil
}

// Subscribe watches keys (all keys when empty).
func (s *Store) Subscribe(_ context.Context, keys []string, _ map[string]string, h configuration.Handler) (string, error) {
	id := uuid.New()
	sb := &sub{id: id, h: h, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if len(keys) > 0 {
		sb.keys = map[string]bool{}
		for _, k := range keys {
			sb.keys[k] = true
		}
	}
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		return "", fmt.Errorf("configuration.in-memory: store closed")
	default:
	}
	s.subs[id] = sb
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		sb.run()
	}()
	return id, nil
}

// Unsubscribe ends subscription id; updates not yet delivered are dropped.
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

// Close ends every subscription and the file watcher.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		close(s.stop)
		for id, sb := range s.subs {
			close(sb.done)
			delete(s.subs, id)
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
	return nil
}

type change struct {
	key  string
	item *configuration.Item
}

// sub is one subscription: a queue drained by its own goroutine.
type sub struct {
	id   string
	keys map[string]bool // nil: every key
	h    configuration.Handler

	mu    sync.Mutex
	queue []change
	wake  chan struct{}
	done  chan struct{}
}

func (sb *sub) watches(key string) bool { return sb.keys == nil || sb.keys[key] }

func (sb *sub) push(key string, it *configuration.Item) {
	sb.mu.Lock()
	sb.queue = append(sb.queue, change{key, it})
	sb.mu.Unlock()
	select {
	case sb.wake <- struct{}{}:
	default:
	}
}

func (sb *sub) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-sb.done
		cancel()
	}()
	for {
		select {
		case <-sb.done:
			return
		case <-sb.wake:
		}
		for {
			sb.mu.Lock()
			if len(sb.queue) == 0 {
				sb.mu.Unlock()
				break
			}
			c := sb.queue[0]
			sb.queue = sb.queue[1:]
			sb.mu.Unlock()
			if ctx.Err() != nil {
				return
			}
			sb.h(ctx, &configuration.Update{ID: sb.id, Items: map[string]*configuration.Item{c.key: c.item}})
		}
	}
}
