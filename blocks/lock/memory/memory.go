package memory

import (
	"context"
	"sync"
	"time"

	"github.com/skiffd/skiff/blocks/lock"
)

type item struct {
	owner    string
	deadline time.Time
}

// Store is the in-memory lock store. Safe for concurrent use.
type Store struct {
	mu    sync.Mutex
	items map[string]item
	now   func() time.Time
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

// sweepEvery is how often expired locks are dropped.
const sweepEvery = 30 * time.Second

// New returns a store. It takes no metadata (keyPrefix is the block's).
func New(name string, md map[string]string) (*Store, error) {
	s := &Store{items: map[string]item{}, now: time.Now, stop: make(chan struct{})}
	s.wg.Add(1)
	go s.sweeper()
	return s, nil
}

// SetClock replaces the time source (tests).
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

func (s *Store) sweeper() {
	defer s.wg.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			now := s.now()
			for k, it := range s.items {
				if !now.Before(it.deadline) {
					delete(s.items, k)
				}
			}
			s.mu.Unlock()
		}
	}
}

// InlineSafe: the store never blocks.
func (s *Store) InlineSafe() bool { return true }

// TryLock takes key for owner unless a live lock holds it (even one of the
// same owner: like Redis SET NX, a lock is not re-entrant).
func (s *Store) TryLock(_ context.Context, key, owner string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if it, ok := s.items[key]; ok && now.Before(it.deadline) {
		return false, nil
	}
	s.items[key] = item{owner: owner, deadline: now.Add(ttl)}
	return true, nil
}

// Unlock releases key when owner holds it.
func (s *Store) Unlock(_ context.Context, key, owner string) (lock.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.items[key]
	if !ok || !s.now().Before(it.deadline) {
		delete(s.items, key)
		return lock.LockDoesNotExist, nil
	}
	if it.owner != owner {
		return lock.LockBelongsToOthers, nil
	}
	delete(s.items, key)
	return lock.Success, nil
}

// Close stops the sweeper and drops every lock.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
	s.mu.Lock()
	s.items = map[string]item{}
	s.mu.Unlock()
	return nil
}
