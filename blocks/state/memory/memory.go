package memory

import (
	"context"
	crand "crypto/rand"
	"errors"
	"github.com/skiffd/skiff/blocks/internal/uuid"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/skiffd/skiff/blocks/state"
)

const (
	numShards     = 64 // power of two
	sweepInterval = time.Second
	etagLen       = 36
)

// item is immutable once stored; a write replaces it.
type item struct {
	value  []byte
	etag   []byte
	expire int64 // Unix nanoseconds; 0 means no TTL
}

func (it *item) expired(now int64) bool { return it.expire != 0 && now > it.expire }

type shard struct {
	mu  sync.RWMutex
	m   map[string]*item
	rng *rand.ChaCha8 // etag source; used under mu (write)
	_   [24]byte      // 64-byte shards: hot locks on separate cache lines
}

// Store is the in-memory state store. It is safe for concurrent use.
type Store struct {
	name   string
	seed   maphash.Seed
	shards [numShards]shard
	now    func() int64 // Unix nanoseconds; replaceable in tests

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

var (
	_ state.Store         = (*Store)(nil)
	_ state.Transactional = (*Store)(nil)
	_ state.FastGetter    = (*Store)(nil)
	_ state.InlineStore   = (*Store)(nil)
)

// New creates the store named name and starts its TTL sweeper. The component
// has no metadata of its own (keyPrefix is the block's), so metadata is
// accepted and ignored, as daprd does.
func New(name string, metadata map[string]string) (*Store, error) {
	_ = metadata
	s := &Store{
		name: name,
		seed: maphash.MakeSeed(),
		now:  func() int64 { return time.Now().UnixNano() },
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	for i := range s.shards {
		var seed [32]byte
		if _, err := crand.Read(seed[:]); err != nil {
			return nil, errors.New("memory: seeding etag generator: " + err.Error())
		}
		s.shards[i].m = make(map[string]*item)
		s.shards[i].rng = rand.NewChaCha8(seed)
	}
	go s.sweep()
	return s, nil
}

// Name returns the component name.
func (s *Store) Name() string { return s.name }

// Features are those daprd's in-memory store reports, minus KEYS_LIKE
// (not implemented yet).
func (s *Store) Features() state.Feature {
	return state.FeatureETag | state.FeatureTransactional | state.FeatureTTL | state.FeatureDeleteWithPrefix
}

// InlineSafe reports that no call ever waits on I/O.
func (s *Store) InlineSafe() bool { return true }

func (s *Store) shardIndex(key string) int {
	return int(maphash.String(s.seed, key) & (numShards - 1))
}

func (s *Store) shardIndexBytes(key []byte) int {
	return int(maphash.Bytes(s.seed, key) & (numShards - 1))
}

// AppendGet appends the value of key to dst without allocating. The etag in
// info is a view of the stored item, which is never modified.
func (s *Store) AppendGet(dst []byte, key []byte) ([]byte, state.ItemInfo, bool) {
	sh := &s.shards[s.shardIndexBytes(key)]
	sh.mu.RLock()
	it := sh.m[string(key)]
	sh.mu.RUnlock()
	if it == nil {
		return dst, state.ItemInfo{}, false
	}
	if it.expire != 0 && s.expireLocked(sh, string(key), it) {
		return dst, state.ItemInfo{}, false
	}
	return append(dst, it.value...), state.ItemInfo{ETag: it.etag, Expire: it.expire}, true
}

// expireLocked deletes key if it (still) holds an expired item; it reports
// whether the item seen by the caller has expired.
func (s *Store) expireLocked(sh *shard, key string, seen *item) bool {
	now := s.now()
	if !seen.expired(now) {
		return false
	}
	sh.mu.Lock()
	if cur := sh.m[key]; cur != nil && cur.expired(now) {
		delete(sh.m, key)
	}
	sh.mu.Unlock()
	return true
}

func ttlMetadata(expire int64) map[string]string {
	if expire == 0 {
		return nil
	}
	return map[string]string{"ttlExpireTime": time.Unix(0, expire).UTC().Format(time.RFC3339)}
}

// Get reads one key (consistency is ignored, as in daprd's store).
func (s *Store) Get(_ context.Context, req *state.GetRequest) (state.GetResponse, error) {
	sh := &s.shards[s.shardIndex(req.Key)]
	sh.mu.RLock()
	it := sh.m[req.Key]
	sh.mu.RUnlock()
	if it == nil || (it.expire != 0 && s.expireLocked(sh, req.Key, it)) {
		return state.GetResponse{}, nil
	}
	return state.GetResponse{Found: true, Data: it.value, ETag: string(it.etag), Metadata: ttlMetadata(it.expire)}, nil
}

// BulkGet reads each key; expired items read as missing.
func (s *Store) BulkGet(_ context.Context, reqs []state.GetRequest, _ int) ([]state.BulkGetItem, error) {
	out := make([]state.BulkGetItem, len(reqs))
	now := s.now()
	for i := range reqs {
		out[i].Key = reqs[i].Key
		sh := &s.shards[s.shardIndex(reqs[i].Key)]
		sh.mu.RLock()
		it := sh.m[reqs[i].Key]
		sh.mu.RUnlock()
		if it == nil || it.expired(now) {
			continue
		}
		out[i].Found, out[i].Data, out[i].ETag, out[i].Metadata = true, it.value, string(it.etag), ttlMetadata(it.expire)
	}
	return out, nil
}

// checkETag is daprd's doValidateEtag; the shard lock is held. Expired items
// count as absent.
func checkETag(sh *shard, key, etag, concurrency string, now int64) error {
	it := sh.m[key]
	if it != nil && it.expired(now) {
		it = nil
	}
	if etag == "" {
		if concurrency == state.FirstWrite && it != nil {
			return state.NewETagError(state.ETagMismatch, errors.New("item already exists and no etag was passed"))
		}
		return nil
	}
	if it == nil {
		return state.NewETagError(state.ETagMismatch, errors.New("state not exist or expired for key="+key))
	}
	if string(it.etag) != etag {
		return state.NewETagError(state.ETagMismatch, errors.New(
			"state etag not match for key="+key+": current="+string(it.etag)+", expect="+etag))
	}
	return nil
}

// newItem copies value into a fresh item with a new etag; the shard lock is
// held (it owns the random source).
func (sh *shard) newItem(value []byte, ttlSeconds, now int64) *item {
	buf := make([]byte, len(value)+etagLen)
	copy(buf, value)
	etag := buf[len(value):]
	appendUUID(etag[:0], sh.rng)
	it := &item{value: buf[:len(value):len(value)], etag: etag}
	if ttlSeconds > 0 {
		it.expire = now + ttlSeconds*int64(time.Second)
	}
	return it
}

// appendUUID appends a random (version 4) UUID from the shard's generator.
func appendUUID(dst []byte, r *rand.ChaCha8) []byte {
	var u [16]byte
	_, _ = r.Read(u[:])
	return uuid.AppendV4(dst, u)
}

// Set writes one key, honouring etag and first-write.
func (s *Store) Set(_ context.Context, req *state.SetRequest) error {
	if err := req.Options.Check(); err != nil {
		return err
	}
	ttl, err := state.ParseTTL(req.Metadata)
	if err != nil {
		return err
	}
	sh := &s.shards[s.shardIndex(req.Key)]
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if err := checkETag(sh, req.Key, req.ETag, req.Options.Concurrency, now); err != nil {
		return err
	}
	sh.m[req.Key] = sh.newItem(req.Value, ttl, now)
	return nil
}

// BulkSet writes each request in turn (not atomic, as in daprd).
func (s *Store) BulkSet(ctx context.Context, reqs []state.SetRequest) error {
	return state.BulkSetEach(ctx, reqs, s.Set)
}

// Delete removes one key, honouring etag and first-write.
func (s *Store) Delete(_ context.Context, req *state.DeleteRequest) error {
	if err := req.Options.Check(); err != nil {
		return err
	}
	sh := &s.shards[s.shardIndex(req.Key)]
	now := s.now()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if err := checkETag(sh, req.Key, req.ETag, req.Options.Concurrency, now); err != nil {
		return err
	}
	delete(sh.m, req.Key)
	return nil
}

// DeleteWithPrefix removes every key "{prefix}||x" (x without "||"), as
// daprd's store does for actor state; it returns how many it removed.
func (s *Store) DeleteWithPrefix(_ context.Context, prefix string) (int64, error) {
	if prefix == "" || prefix == "||" {
		return 0, errors.New("a prefix is required for deleteWithPrefix request")
	}
	if !strings.HasSuffix(prefix, "||") {
		prefix += "||"
	}
	var n int64
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k := range sh.m {
			if strings.HasPrefix(k, prefix) && !strings.Contains(k[len(prefix):], "||") {
				delete(sh.m, k)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

// Multi runs the operations atomically: parameters first, then every shard
// involved is locked in index order, every etag checked against the state
// before the transaction, and only then is anything written.
func (s *Store) Multi(_ context.Context, req *state.TransactionRequest) error {
	if len(req.Operations) == 0 {
		return nil
	}
	ttls := make([]int64, len(req.Operations))
	idx := make([]int, 0, len(req.Operations))
	for i, op := range req.Operations {
		var key string
		switch {
		case op.Set != nil:
			if err := op.Set.Options.Check(); err != nil {
				return err
			}
			ttl, err := state.ParseTTL(op.Set.Metadata)
			if err != nil {
				return err
			}
			ttls[i] = ttl
			key = op.Set.Key
		case op.Delete != nil:
			// daprd's store does not validate delete options in a transaction.
			key = op.Delete.Key
		default:
			return errors.New("memory: empty transaction operation")
		}
		idx = append(idx, s.shardIndex(key))
	}
	locked := slices.Clone(idx)
	slices.Sort(locked)
	locked = slices.Compact(locked)
	for _, i := range locked {
		s.shards[i].mu.Lock()
	}
	defer func() {
		for _, i := range locked {
			s.shards[i].mu.Unlock()
		}
	}()
	now := s.now()
	for i, op := range req.Operations {
		sh := &s.shards[idx[i]]
		var err error
		if op.Set != nil {
			err = checkETag(sh, op.Set.Key, op.Set.ETag, op.Set.Options.Concurrency, now)
		} else {
			err = checkETag(sh, op.Delete.Key, op.Delete.ETag, op.Delete.Options.Concurrency, now)
		}
		if err != nil {
			return err
		}
	}
	for i, op := range req.Operations {
		sh := &s.shards[idx[i]]
		if op.Set != nil {
			sh.m[op.Set.Key] = sh.newItem(op.Set.Value, ttls[i], now)
		} else {
			delete(sh.m, op.Delete.Key)
		}
	}
	return nil
}

// Len returns the number of stored keys, expired ones not yet swept included.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		s.shards[i].mu.RLock()
		n += len(s.shards[i].m)
		s.shards[i].mu.RUnlock()
	}
	return n
}

func (s *Store) sweep() {
	defer close(s.done)
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweepOnce()
		}
	}
}

// sweepOnce deletes expired items, one shard at a time.
func (s *Store) sweepOnce() {
	now := s.now()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, it := range sh.m {
			if it.expired(now) {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// Close stops the sweeper and drops every item.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		for i := range s.shards {
			s.shards[i].mu.Lock()
			clear(s.shards[i].m)
			s.shards[i].mu.Unlock()
		}
	})
	return nil
}
