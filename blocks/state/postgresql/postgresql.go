package postgresql

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/dataplane/jsonscan"
)

// Metadata is the component's configuration, with Dapr's names.
type Metadata struct {
	ConnectionString  string        // connectionString
	TableName         string        // tableName (default "state"; may be schema-qualified)
	MetadataTableName string        // metadataTableName (default "dapr_metadata")
	Timeout           time.Duration // timeout (default 20 s): each database operation
	CleanupInterval   time.Duration // cleanupIntervalInSeconds (default 3600; <= 0 disables)
	MaxConns          int32         // maxConns
}

var identRe = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)?$`)

// ParseMetadata reads the component metadata as daprd does.
func ParseMetadata(md map[string]string) (Metadata, error) {
	m := Metadata{TableName: "state", MetadataTableName: "dapr_metadata", Timeout: 20 * time.Second, CleanupInterval: time.Hour}
	get := func(name string) string {
		for k, v := range md {
			if strings.EqualFold(k, name) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	m.ConnectionString = get("connectionString")
	if m.ConnectionString == "" {
		return m, errors.New("missing connection string")
	}
	if v := get("tableName"); v != "" {
		m.TableName = v
	}
	if v := get("metadataTableName"); v != "" {
		m.MetadataTableName = v
	}
	for _, t := range []string{m.TableName, m.MetadataTableName} {
		if !identRe.MatchString(t) {
			return m, fmt.Errorf("invalid table name %q", t)
		}
	}
	timeout := get("timeout")
	if timeout == "" {
		timeout = get("timeoutInSeconds")
	}
	if timeout != "" {
		d, err := secondsOrDuration(timeout)
		if err != nil {
			return m, fmt.Errorf("invalid timeout %q: %w", timeout, err)
		}
		m.Timeout = d
	}
	if v := get("cleanupIntervalInSeconds"); v != "" {
		d, err := secondsOrDuration(v)
		if err != nil {
			return m, fmt.Errorf("invalid cleanupIntervalInSeconds %q: %w", v, err)
		}
		m.CleanupInterval = d
	} else if v := get("cleanupInterval"); v != "" {
		d, err := secondsOrDuration(v)
		if err != nil {
			return m, fmt.Errorf("invalid cleanupInterval %q: %w", v, err)
		}
		m.CleanupInterval = d
	}
	if v := get("maxConns"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return m, fmt.Errorf("invalid maxConns %q", v)
		}
		m.MaxConns = int32(n)
	}
	return m, nil
}

// secondsOrDuration reads "30" as seconds and "30s" as a Go duration.
func secondsOrDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// Store is the state.postgresql component. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	md   Metadata

	qGet, qBulk, qUpsert, qUpsertFW, qUpdate, qDel, qDelETag string

	reads *state.GetBatcher

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var (
	_ state.Store         = (*Store)(nil)
	_ state.Transactional = (*Store)(nil)
	_ state.Querier       = (*Store)(nil)
	_ state.AsyncGetter   = (*Store)(nil)
)

// Features are the store's capabilities (daprd's: ETag, transactions,
// query API, TTL).
const Features = state.FeatureETag | state.FeatureTransactional | state.FeatureQuery | state.FeatureTTL

// Open connects, runs the migrations and starts the expiry cleanup.
func Open(ctx context.Context, md Metadata) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(md.ConnectionString)
	if err != nil {
		return nil, fmt.Errorf("failed to parse connection string: %w", err)
	}
	if md.MaxConns > 0 {
		cfg.MaxConns = md.MaxConns
	}
	cctx, cancel := context.WithTimeout(ctx, md.Timeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(cctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to the database: %w", err)
	}
	if err := pool.Ping(cctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("failed to ping the database: %w", err)
	}
	s := &Store{pool: pool, md: md, stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.migrate(cctx); err != nil {
		pool.Close()
		return nil, err
	}
	t := md.TableName
	notExpired := ` AND (expiredate IS NULL OR expiredate >= CURRENT_TIMESTAMP)`
	s.qGet = `SELECT key, value, isbinary, xmin::text, expiredate FROM ` + t + ` WHERE key = $1` + notExpired
	s.qBulk = `SELECT key, value, isbinary, xmin::text, expiredate FROM ` + t + ` WHERE key = ANY($1)` + notExpired
	// $4 is the TTL in seconds (0: none); the database's clock sets expiry.
	expire := `CASE WHEN $4::bigint > 0 THEN CURRENT_TIMESTAMP + $4::bigint * interval '1 second' END`
	upsert := `INSERT INTO ` + t + ` AS t (key, value, isbinary, expiredate) VALUES ($1, $2, $3, ` + expire + `)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, isbinary = excluded.isbinary,
updatedate = CURRENT_TIMESTAMP, expiredate = excluded.expiredate`
	s.qUpsert = upsert
	s.qUpsertFW = upsert + ` WHERE (t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP)`
	s.qUpdate = `UPDATE ` + t + ` SET value = $2, isbinary = $3, updatedate = CURRENT_TIMESTAMP, expiredate = ` + expire + `
WHERE key = $1 AND xmin::text = $5 AND (expiredate IS NULL OR expiredate > CURRENT_TIMESTAMP)`
	s.qDel = `DELETE FROM ` + t + ` WHERE key = $1`
	s.qDelETag = `DELETE FROM ` + t + ` WHERE key = $1 AND xmin::text = $2`
	// Concurrent reads share queries (key = ANY($1)); a few batches run at
	// once on the pool's connections.
	s.reads = state.NewGetBatcher(4, 256, s.fetch)
	go s.cleanup()
	return s, nil
}

// New builds the component from its metadata, connecting in the background.
func New(name string, metadata map[string]string) (state.Store, error) {
	md, err := ParseMetadata(metadata)
	if err != nil {
		return nil, err
	}
	if _, err := pgxpool.ParseConfig(md.ConnectionString); err != nil {
		return nil, fmt.Errorf("failed to parse connection string: %w", err)
	}
	return state.NewLazy(name, Features, func(ctx context.Context) (state.Store, error) {
		return Open(ctx, md)
	}), nil
}

// Pool exposes the connection pool (tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Features reports the store's capabilities.
func (s *Store) Features() state.Feature { return Features }

// Close stops the cleanup and closes the pool.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		s.reads.Close()
		s.pool.Close()
	})
	return nil
}

func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.md.Timeout)
}

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// decodeValue turns a stored row back into the value's bytes.
func decodeValue(value []byte, isBinary bool) ([]byte, error) {
	if !isBinary {
		return value, nil
	}
	var s string
	if err := json.Unmarshal(value, &s); err != nil {
		return nil, fmt.Errorf("failed to unmarshal JSON data: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("failed to decode base64 data: %w", err)
	}
	return b, nil
}

func ttlMetadata(exp *time.Time) map[string]string {
	if exp == nil {
		return nil
	}
	return map[string]string{"ttlExpireTime": exp.UTC().Format(time.RFC3339)}
}

// Get reads one key, ignoring an expired row.
func (s *Store) Get(ctx context.Context, req *state.GetRequest) (state.GetResponse, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	var (
		key      string
		value    []byte
		isBinary bool
		etag     string
		exp      *time.Time
	)
	err := s.pool.QueryRow(ctx, s.qGet, req.Key).Scan(&key, &value, &isBinary, &etag, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return state.GetResponse{}, nil
	}
	if err != nil {
		return state.GetResponse{}, err
	}
	data, err := decodeValue(value, isBinary)
	if err != nil {
		return state.GetResponse{}, err
	}
	return state.GetResponse{Found: true, Data: data, ETag: etag, Metadata: ttlMetadata(exp)}, nil
}

// BulkGet reads every key in one query.
func (s *Store) BulkGet(ctx context.Context, reqs []state.GetRequest, _ int) ([]state.BulkGetItem, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	keys := make([]string, len(reqs))
	pos := make(map[string][]int, len(reqs))
	out := make([]state.BulkGetItem, len(reqs))
	for i := range reqs {
		keys[i] = reqs[i].Key
		out[i].Key = reqs[i].Key
		pos[reqs[i].Key] = append(pos[reqs[i].Key], i)
	}
	rows, err := s.pool.Query(ctx, s.qBulk, keys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key      string
			value    []byte
			isBinary bool
			etag     string
			exp      *time.Time
		)
		if err := rows.Scan(&key, &value, &isBinary, &etag, &exp); err != nil {
			return nil, err
		}
		data, derr := decodeValue(value, isBinary)
		for _, i := range pos[key] {
			if derr != nil {
				out[i].Error = derr.Error()
				continue
			}
			out[i].Found, out[i].Data, out[i].ETag, out[i].Metadata = true, data, etag, ttlMetadata(exp)
		}
	}
	return out, rows.Err()
}

// AsyncGets reports that plain reads are batched (state.AsyncGetter).
func (s *Store) AsyncGets() bool { return true }

// GetAsync queues a read for the next batched query.
func (s *Store) GetAsync(key string, done func(state.GetResponse, error)) {
	s.reads.Get(key, done)
}

// fetch reads keys with one query (the batcher's round trip).
func (s *Store) fetch(ctx context.Context, keys []string) ([]state.GetResponse, []error) {
	out := make([]state.GetResponse, len(keys))
	errs := make([]error, len(keys))
	if len(keys) == 1 {
		out[0], errs[0] = s.Get(ctx, &state.GetRequest{Key: keys[0]})
		return out, errs
	}
	reqs := make([]state.GetRequest, len(keys))
	for i, k := range keys {
		reqs[i].Key = k
	}
	items, err := s.BulkGet(ctx, reqs, 0)
	for i := range keys {
		switch {
		case err != nil:
			errs[i] = err
		case items[i].Error != "":
			errs[i] = errors.New(items[i].Error)
		default:
			out[i] = state.GetResponse{Found: items[i].Found, Data: items[i].Data, ETag: items[i].ETag, Metadata: items[i].Metadata}
		}
	}
	return out, errs
}

// encodeValue returns the jsonb text to store and whether it is binary.
func encodeValue(v []byte) (string, bool) {
	if jsonscan.Valid(v) {
		return string(v), false
	}
	b, _ := json.Marshal(base64.StdEncoding.EncodeToString(v))
	return string(b), true
}

func (s *Store) doSet(ctx context.Context, db querier, req *state.SetRequest) error {
	if err := req.Options.Check(); err != nil {
		return err
	}
	if req.Key == "" {
		return errors.New("missing key in set operation")
	}
	value, isBinary := encodeValue(req.Value)
	var expire int64
	if v := req.Metadata["ttlInSeconds"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("error parsing TTL: %w", err)
		}
		expire = max(n, 0)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	var (
		tag pgconn.CommandTag
		err error
	)
	if req.ETag == "" {
		q := s.qUpsert
		if req.Options.Concurrency == state.FirstWrite {
			q = s.qUpsertFW
		}
		tag, err = db.Exec(ctx, q, req.Key, value, isBinary, expire)
	} else {
		etag, perr := strconv.ParseUint(req.ETag, 10, 32)
		if perr != nil {
			return state.NewETagError(state.ETagInvalid, perr)
		}
		tag, err = db.Exec(ctx, s.qUpdate, req.Key, value, isBinary, expire, strconv.FormatUint(etag, 10))
	}
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		if req.ETag != "" {
			return state.NewETagError(state.ETagMismatch, nil)
		}
		return errors.New("no item was updated")
	}
	return nil
}

func (s *Store) doDelete(ctx context.Context, db querier, req *state.DeleteRequest) error {
	if err := req.Options.Check(); err != nil {
		return err
	}
	if req.Key == "" {
		return errors.New("missing key in delete operation")
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	if req.ETag == "" {
		_, err := db.Exec(ctx, s.qDel, req.Key)
		return err
	}
	etag, err := strconv.ParseUint(req.ETag, 10, 32)
	if err != nil {
		return state.NewETagError(state.ETagInvalid, err)
	}
	tag, err := db.Exec(ctx, s.qDelETag, req.Key, strconv.FormatUint(etag, 10))
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return state.NewETagError(state.ETagMismatch, nil)
	}
	return nil
}

// Set saves one key.
func (s *Store) Set(ctx context.Context, req *state.SetRequest) error {
	return s.doSet(ctx, s.pool, req)
}

// BulkSet saves each key (not atomically, as daprd).
func (s *Store) BulkSet(ctx context.Context, reqs []state.SetRequest) error {
	return state.BulkSetEach(ctx, reqs, s.Set)
}

// Delete removes one key.
func (s *Store) Delete(ctx context.Context, req *state.DeleteRequest) error {
	return s.doDelete(ctx, s.pool, req)
}

// Multi runs the operations in one SQL transaction.
func (s *Store) Multi(ctx context.Context, req *state.TransactionRequest) error {
	bctx, cancel := s.opCtx(ctx)
	tx, err := s.pool.Begin(bctx)
	cancel()
	if err != nil {
		return fmt.Errorf("failed to begin transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	for _, op := range req.Operations {
		switch {
		case op.Set != nil:
			err = s.doSet(ctx, tx, op.Set)
		case op.Delete != nil:
			err = s.doDelete(ctx, tx, op.Delete)
		}
		if err != nil {
			return err
		}
	}
	cctx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := tx.Commit(cctx); err != nil {
		return fmt.Errorf("failed to commit transaction: %w", err)
	}
	return nil
}
