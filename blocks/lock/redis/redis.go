package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/internal/redisconn"
	"github.com/skiffd/skiff/blocks/lock"
)

// unlockScript: -1 no such key, -2 another owner, else the DEL count.
const unlockScript = `local v = redis.call("get", KEYS[1]); if v == false then return -1 end; if v ~= ARGV[1] then return -2 end; return redis.call("del", KEYS[1])`

// Store is the Redis lock store.
type Store struct {
	conn   *redisconn.Conn
	unlock *rueidis.Lua
}

// New parses md and starts connecting.
func New(name string, md map[string]string, log *slog.Logger) (*Store, error) {
	opt, err := redisconn.Parse(md, "redis lock "+name)
	if err != nil {
		return nil, err
	}
	if opt.Failover {
		return nil, fmt.Errorf("redis lock %s: failover is not supported (a standalone Redis is required, as in daprd)", name)
	}
	if strings.EqualFold(md["redisType"], "cluster") {
		return nil, fmt.Errorf("redis lock %s: redisType cluster is not supported (a standalone Redis is required, as in daprd)", name)
	}
	return &Store{
		conn:   redisconn.New(opt, "redis lock "+name, log, noReplicas),
		unlock: rueidis.NewLuaScript(unlockScript),
	}, nil
}

// noReplicas is daprd's check: a Redis with replicas could lose a lock on
// failover. An INFO that fails (some Redis-compatible servers) passes.
func noReplicas(ctx context.Context, c rueidis.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := c.Do(ctx, c.B().Info().Section("replication").Build()).ToString()
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return nil
	}
	for _, line := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(line, "connected_slaves:"); ok {
			if n, _ := strconv.Atoi(v); n > 0 {
				return fmt.Errorf("replication is not supported (connected_slaves:%d)", n)
			}
		}
	}
	return nil
}

// InlineSafe: network I/O, so never on the event loop.
func (s *Store) InlineSafe() bool { return false }

// Ready reports whether Redis is connected.
func (s *Store) Ready() error { return s.conn.Ready() }

// TryLock is SET key owner NX PX ttl.
func (s *Store) TryLock(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	c, err := s.conn.Client(ctx)
	if err != nil {
		return false, err
	}
	err = c.Do(ctx, c.B().Set().Key(key).Value(owner).Nx().PxMilliseconds(ttl.Milliseconds()).Build()).Error()
	if rueidis.IsRedisNil(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("redis lock: %w", err)
	}
	return true, nil
}

// Unlock runs the compare-and-delete script.
func (s *Store) Unlock(ctx context.Context, key, owner string) (lock.Status, error) {
	c, err := s.conn.Client(ctx)
	if err != nil {
		return lock.InternalError, err
	}
	n, err := s.unlock.Exec(ctx, c, []string{key}, []string{owner}).AsInt64()
	if err != nil {
		return lock.InternalError, fmt.Errorf("redis lock: %w", err)
	}
	switch {
	case n >= 0:
		return lock.Success, nil
	case n == -1:
		return lock.LockDoesNotExist, nil
	case n == -2:
		return lock.LockBelongsToOthers, nil
	}
	return lock.InternalError, nil
}

// Close closes the connection.
func (s *Store) Close() error { return s.conn.Close() }
