package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/state"
)

// Metadata is the component's configuration, with Dapr's names.
type Metadata struct {
	Host            string        // redisHost, "host:port" (comma-separated for a cluster)
	Username        string        // redisUsername
	Password        string        // redisPassword
	DB              int           // redisDB
	EnableTLS       bool          // enableTLS
	MaxRetries      int           // maxRetries (-1 disables retries)
	MaxRetryBackoff time.Duration // maxRetryBackoff
	PoolSize        int           // poolSize
	DialTimeout     time.Duration // dialTimeout
	WriteTimeout    time.Duration // writeTimeout (and readTimeout): the connection deadline
	TTL             *int64        // ttlInSeconds: the default TTL of saves without one
}

// ParseMetadata reads the component metadata as daprd does. Unknown names
// are ignored (daprd's decoder does the same).
func ParseMetadata(md map[string]string) (Metadata, error) {
	m := Metadata{MaxRetries: 3, MaxRetryBackoff: 2 * time.Second, DialTimeout: 5 * time.Second}
	get := func(name string) string {
		for k, v := range md {
			if strings.EqualFold(k, name) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	m.Host = get("redisHost")
	if m.Host == "" {
		return m, errors.New("redis store: redisHost is required")
	}
	m.Username = get("redisUsername")
	m.Password = get("redisPassword")
	var err error
	intField := func(name string, dst *int) {
		if v := get(name); v != "" && err == nil {
			var n int
			if n, err = strconv.Atoi(v); err != nil {
				err = fmt.Errorf("redis store: invalid %s %q: %w", name, v, err)
				return
			}
			*dst = n
		}
	}
	durField := func(name string, dst *time.Duration) {
		if v := get(name); v != "" && err == nil {
			*dst, err = parseDuration(v)
			if err != nil {
				err = fmt.Errorf("redis store: invalid %s %q: %w", name, v, err)
			}
		}
	}
	intField("redisDB", &m.DB)
	intField("maxRetries", &m.MaxRetries)
	intField("poolSize", &m.PoolSize)
	durField("maxRetryBackoff", &m.MaxRetryBackoff)
	durField("dialTimeout", &m.DialTimeout)
	durField("writeTimeout", &m.WriteTimeout)
	if m.WriteTimeout == 0 {
		durField("readTimeout", &m.WriteTimeout)
	}
	if err != nil {
		return m, err
	}
	if v := get("enableTLS"); v != "" {
		if m.EnableTLS, err = strconv.ParseBool(v); err != nil {
			return m, fmt.Errorf("redis store: invalid enableTLS %q: %w", v, err)
		}
	}
	if v := get("ttlInSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return m, fmt.Errorf("redis store: invalid ttlInSeconds %q: %w", v, err)
		}
		m.TTL = &n
	}
	if v := get("failover"); v == "true" {
		return m, errors.New("redis store: failover (Sentinel) is not supported by skiffd yet")
	}
	return m, nil
}

// parseDuration accepts Go durations and plain milliseconds, as daprd's
// metadata decoder does.
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Millisecond, nil
	}
	return time.ParseDuration(s)
}

// ClientOption turns the metadata into rueidis options.
func (m Metadata) ClientOption() rueidis.ClientOption {
	opt := rueidis.ClientOption{
		InitAddress:      strings.Split(m.Host, ","),
		Username:         m.Username,
		Password:         m.Password,
		SelectDB:         m.DB,
		DisableCache:     true, // client-side caching would serve stale etags to other sidecars' writes
		Dialer:           net.Dialer{Timeout: m.DialTimeout},
		ConnWriteTimeout: m.WriteTimeout,
		BlockingPoolSize: m.PoolSize,
	}
	if m.EnableTLS {
		// daprd's Redis client skips certificate verification with enableTLS.
		opt.TLSConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // daprd-compatible
	}
	if m.MaxRetries < 0 {
		opt.DisableRetry = true
	}
	return opt
}

// Store is the state.redis component. It is safe for concurrent use.
type Store struct {
	client rueidis.Client
	md     Metadata
	reads  *state.GetBatcher

	readers []*batchReader
}

var (
	_ state.Store         = (*Store)(nil)
	_ state.Transactional = (*Store)(nil)
	_ state.AsyncGetter   = (*Store)(nil)
)

// Features are the store's capabilities (daprd: ETag, transactions, TTL;
// the query API needs RediSearch and is not offered).
const Features = state.FeatureETag | state.FeatureTransactional | state.FeatureTTL

// Open connects to Redis. It fails when Redis does not answer; see
// state.NewLazy for retrying in the background.
func Open(ctx context.Context, md Metadata) (*Store, error) {
	c, err := rueidis.NewClient(md.ClientOption())
	if err != nil {
		return nil, fmt.Errorf("redis store: error connecting to redis at %s: %w", md.Host, err)
	}
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis store: error connecting to redis at %s: %w", md.Host, err)
	}
	s := &Store{client: c, md: md}
	// The batch worker takes everything that queued while its previous
	// round trip was out (see batchWorkers).
	if s.readers, err = s.newReaders(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis store: error connecting to redis at %s: %w", md.Host, err)
	}
	next := 0
	s.reads = state.NewGetBatcherReaders(batchWorkers, 256, func() state.BatchReader {
		r := s.readers[next]
		next++
		return r.read
	})
	return s, nil
}

// New builds the component from its metadata, connecting in the background.
func New(name string, metadata map[string]string) (state.Store, error) {
	md, err := ParseMetadata(metadata)
	if err != nil {
		return nil, err
	}
	return state.NewLazy(name, Features, func(ctx context.Context) (state.Store, error) {
		cctx, cancel := context.WithTimeout(ctx, md.DialTimeout+time.Second)
		defer cancel()
		return Open(cctx, md)
	}), nil
}

// Client exposes the connection (tests).
func (s *Store) Client() rueidis.Client { return s.client }

// Features reports the store's capabilities.
func (s *Store) Features() state.Feature { return Features }

// Close closes the connections.
func (s *Store) Close() error {
	s.reads.Close()
	for _, r := range s.readers {
		if r.client != s.client {
			r.client.Close()
		}
	}
	s.client.Close()
	return nil
}

func (s *Store) readCmds(key string) (rueidis.Completed, rueidis.Completed) {
	return s.client.B().Hmget().Key(key).Field("data", "version").Build(),
		s.client.B().Ttl().Key(key).Build()
}

// Get reads one key: its hash fields and its TTL, in one round trip.
func (s *Store) Get(ctx context.Context, req *state.GetRequest) (state.GetResponse, error) {
	hm, ttl := s.readCmds(req.Key)
	res := s.client.DoMulti(ctx, hm, ttl)
	return s.decodeGet(ctx, req.Key, res[0], res[1], false)
}

// decodeGet turns the replies to readCmds into the answer. With alias the
// data points into the reply's string instead of a copy: for callers that
// only read it (state.BatchReader's contract).
func (s *Store) decodeGet(ctx context.Context, key string, hm, ttl rueidis.RedisResult, alias bool) (state.GetResponse, error) {
	vals, err := hm.ToArray()
	if err != nil {
		if re, ok := rueidis.IsRedisErr(err); ok && strings.HasPrefix(re.Error(), "WRONGTYPE") {
			return s.plainGet(ctx, key)
		}
		return state.GetResponse{}, err
	}
	if len(vals) != 2 {
		return state.GetResponse{}, fmt.Errorf("redis store: unexpected HMGET reply of %d fields", len(vals))
	}
	data, derr := vals[0].ToString()
	ver, verr := vals[1].ToString()
	dnil, vnil := rueidis.IsRedisNil(derr), rueidis.IsRedisNil(verr)
	if dnil && vnil {
		return state.GetResponse{}, nil
	}
	if dnil || vnil {
		return state.GetResponse{}, errors.New("required hash field 'data' or 'version' was not found")
	}
	if derr != nil {
		return state.GetResponse{}, derr
	}
	if verr != nil {
		return state.GetResponse{}, verr
	}
	out := state.GetResponse{Found: true, ETag: ver}
	if alias && len(data) > 0 {
		// The string is the reply's own, immutable and referenced by
		// nothing else: reading through a []byte view is safe.
		out.Data = unsafe.Slice(unsafe.StringData(data), len(data))
	} else {
		out.Data = []byte(data)
	}
	if secs, err := ttl.AsInt64(); err == nil && secs > 0 {
		exp := time.Now().Add(time.Duration(secs) * time.Second).UTC().Format(time.RFC3339)
		out.Metadata = map[string]string{"ttlExpireTime": exp}
	}
	return out, nil
}

// plainGet reads a key stored as a plain string (daprd's fallback for data
// written before the hash layout): no etag.
func (s *Store) plainGet(ctx context.Context, key string) (state.GetResponse, error) {
	v, err := s.client.Do(ctx, s.client.B().Get().Key(key).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return state.GetResponse{}, nil
	}
	if err != nil {
		return state.GetResponse{}, err
	}
	return state.GetResponse{Found: true, Data: []byte(v)}, nil
}

// AsyncGets reports that plain reads are batched (state.AsyncGetter).
func (s *Store) AsyncGets() bool { return true }

// GetAsync queues a read for the next pipelined batch.
func (s *Store) GetAsync(key string, done func(state.GetResponse, error)) {
	s.reads.Get(key, done)
}

// batchWorkers is the number of batches in flight at once. One: measured
// on state GETs at 64 connections (bench/RESULTS.md, state.redis GET), fewer
// workers make larger batches, so fewer round trips, syscalls and
// wake-ups per read (sidecar CPU per request 4 workers > 2 > 1), and the
// throughput stays far from one connection's bound. Replies on one
// connection come in order anyway, so more workers on the shared
// connection did not avoid head-of-line waits either.
const batchWorkers = 1

// batchReader is one batch worker's reader. On a single Redis server each
// has a client (one connection) of its own that only its worker uses:
// rueidis then writes the pipeline and reads the replies on the calling
// goroutine (its synchronous path), where the shared auto-pipelined
// connection hands every batch to its writer and reader goroutines and
// back, two more goroutine wake-ups per round trip. A client, not a
// connection from the shared client's dedicated pool: a small poolSize
// could not starve the readers, and rueidis redials a broken connection.
// Cluster clients share the store's client, which routes keys to nodes.
type batchReader struct {
	s      *Store
	client rueidis.Client
	cmds   rueidis.Commands
}

// newReaders makes the batch workers' readers.
func (s *Store) newReaders() ([]*batchReader, error) {
	rs := make([]*batchReader, batchWorkers)
	for i := range rs {
		rs[i] = &batchReader{s: s, client: s.client, cmds: make(rueidis.Commands, 0, 2*256)}
		if s.client.Mode() != rueidis.ClientModeStandalone {
			continue
		}
		c, err := rueidis.NewClient(s.md.ClientOption())
		if err != nil {
			for _, r := range rs[:i] {
				r.client.Close()
			}
			return nil, err
		}
		rs[i].client = c
	}
	return rs, nil
}

// read reads keys in one pipeline (the batcher's round trip).
func (r *batchReader) read(ctx context.Context, keys []string, out []state.GetResponse, errs []error) {
	c := r.client
	b := c.B()
	for _, k := range keys {
		r.cmds = append(r.cmds, b.Hmget().Key(k).Field("data", "version").Build(), b.Ttl().Key(k).Build())
	}
	res := c.DoMulti(ctx, r.cmds...)
	clear(r.cmds)
	r.cmds = r.cmds[:0]
	for i, k := range keys {
		out[i], errs[i] = r.s.decodeGet(ctx, k, res[2*i], res[2*i+1], true)
	}
}

// BulkGet reads every key in one pipeline.
func (s *Store) BulkGet(ctx context.Context, reqs []state.GetRequest, _ int) ([]state.BulkGetItem, error) {
	cmds := make(rueidis.Commands, 0, 2*len(reqs))
	for i := range reqs {
		hm, ttl := s.readCmds(reqs[i].Key)
		cmds = append(cmds, hm, ttl)
	}
	res := s.client.DoMulti(ctx, cmds...)
	out := make([]state.BulkGetItem, len(reqs))
	for i := range reqs {
		out[i].Key = reqs[i].Key
		r, err := s.decodeGet(ctx, reqs[i].Key, res[2*i], res[2*i+1], false)
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		out[i].Found, out[i].Data, out[i].ETag, out[i].Metadata = r.Found, r.Data, r.ETag, r.Metadata
	}
	return out, nil
}
