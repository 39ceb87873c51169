package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/skiffd/skiff/blocks/internal/testsvc"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/lock"
	"github.com/skiffd/skiff/blocks/lock/memory"
	lockredis "github.com/skiffd/skiff/blocks/lock/redis"
)

func uniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "lock||skiff-conf-" + hex.EncodeToString(b[:]) + "||"
}

type component struct {
	name string
	open func(t *testing.T) lock.Store
}

func components() []component {
	return []component{
		{"lock.in-memory", func(t *testing.T) lock.Store {
			s, err := memory.New("conf", nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"lock.redis", func(t *testing.T) lock.Store {
			addr := testsvc.Redis(t)
			s, err := lockredis.New("conf", map[string]string{"redisHost": addr}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
}

// cleanup deletes every key under prefix from Redis.
func cleanupRedis(t *testing.T, prefix string) {
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{testsvc.Redis(t)}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	defer c.Close()
	ctx := context.Background()
	keys, err := c.Do(ctx, c.B().Keys().Pattern(prefix+"*").Build()).AsStrSlice()
	if err != nil || len(keys) == 0 {
		return
	}
	_ = c.Do(ctx, c.B().Del().Key(keys...).Build()).Error()
}

func forEach(t *testing.T, f func(t *testing.T, s lock.Store, prefix string)) {
	for _, c := range components() {
		t.Run(c.name, func(t *testing.T) {
			s := c.open(t)
			prefix := uniquePrefix()
			t.Cleanup(func() {
				s.Close()
				if c.name == "lock.redis" {
					cleanupRedis(t, prefix)
				}
			})
			f(t, s, prefix)
		})
	}
}

func TestContentionAndStatuses(t *testing.T) {
	forEach(t, func(t *testing.T, s lock.Store, p string) {
		ctx := context.Background()
		k := p + "res"
		mustLock(t, s, k, "a", time.Minute, true)
		mustLock(t, s, k, "b", time.Minute, false)
		mustLock(t, s, k, "a", time.Minute, false) // not re-entrant
		mustUnlock(t, s, k, "b", lock.LockBelongsToOthers)
		mustUnlock(t, s, k, "a", lock.Success)
		mustUnlock(t, s, k, "a", lock.LockDoesNotExist)
		mustLock(t, s, k, "b", time.Minute, true)
		_, _ = s.Unlock(ctx, k, "b")
	})
}

func TestOneWinnerUnderRace(t *testing.T) {
	forEach(t, func(t *testing.T, s lock.Store, p string) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				ok, err := s.TryLock(context.Background(), p+"race", "owner-"+string(rune('a'+i%26))+hex.EncodeToString([]byte{byte(i)}), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}(i)
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Errorf("%d winners, want 1", n)
		}
	})
}

func TestExpiry(t *testing.T) {
	forEach(t, func(t *testing.T, s lock.Store, p string) {
		k := p + "exp"
		mustLock(t, s, k, "a", 300*time.Millisecond, true)
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := s.TryLock(context.Background(), k, "b", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a 300 ms lock never expired")
			}
			time.Sleep(50 * time.Millisecond)
		}
		mustUnlock(t, s, k, "a", lock.LockBelongsToOthers)
		mustUnlock(t, s, k, "b", lock.Success)
	})
}

// TestRedisDownAtStartup: an unreachable Redis does not fail New; requests
// fail fast with an error naming the address, Ready says why.
func TestRedisDownAtStartup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	s, err := lockredis.New("down", map[string]string{"redisHost": addr, "dialTimeout": "200ms"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.TryLock(ctx, "k", "o", time.Second); err == nil {
		t.Fatal("TryLock succeeded against nothing")
	} else if !contains(err.Error(), addr) {
		t.Errorf("error %q does not name %s", err, addr)
	}
	if st, err := s.Unlock(ctx, "k", "o"); err == nil || st != lock.InternalError {
		t.Errorf("Unlock: %v %v", st, err)
	}
	if s.Ready() == nil {
		t.Error("Ready with no Redis")
	}
}

func TestRedisMetadata(t *testing.T) {
	for _, md := range []map[string]string{
		{},
		{"redisHost": "x:1", "failover": "true", "sentinelMasterName": "m"},
		{"redisHost": "x:1", "redisType": "cluster"},
		{"redisHost": "x:1", "enableTLS": "maybe"},
		{"redisHost": "x:1", "redisDB": "one"},
		{"redisHost": "x:1", "maxRetries": "many"},
		{"redisHost": "x:1", "dialTimeout": "soon"},
	} {
		if s, err := lockredis.New("bad", md, nil); err == nil {
			s.Close()
			t.Errorf("metadata %v accepted", md)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func mustLock(t *testing.T, s lock.Store, k, owner string, ttl time.Duration, want bool) {
	t.Helper()
	ok, err := s.TryLock(context.Background(), k, owner, ttl)
	if err != nil {
		t.Fatalf("TryLock(%s, %s): %v", k, owner, err)
	}
	if ok != want {
		t.Fatalf("TryLock(%s, %s) = %v, want %v", k, owner, ok, want)
	}
}

func mustUnlock(t *testing.T, s lock.Store, k, owner string, want lock.Status) {
	t.Helper()
	st, err := s.Unlock(context.Background(), k, owner)
	if err != nil {
		t.Fatalf("Unlock(%s, %s): %v", k, owner, err)
	}
	if st != want {
		t.Fatalf("Unlock(%s, %s) = %d, want %d", k, owner, st, want)
	}
}
