package state

import (
	"context"
	"errors"
	"strconv"
)

// Feature is one optional capability of a store (daprd's state.Feature).
type Feature uint32

// Features a store may report. The names are daprd's, for the metadata API.
const (
	FeatureETag Feature = 1 << iota
	FeatureTransactional
	FeatureQuery
	FeatureTTL
	FeatureDeleteWithPrefix
	FeatureKeysLike
)

var featureNames = [...]string{"ETAG", "TRANSACTIONAL", "QUERY_API", "TTL", "DELETE_WITH_PREFIX", "KEYS_LIKE"}

// Has reports whether every bit of x is set in f.
func (f Feature) Has(x Feature) bool { return f&x == x }

// Names lists the features in f with daprd's names (for /v1.0/metadata).
func (f Feature) Names() []string {
	var out []string
	for i, n := range featureNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Concurrency and consistency options, as daprd spells them.
const (
	FirstWrite = "first-write"
	LastWrite  = "last-write"
	Strong     = "strong"
	Eventual   = "eventual"
)

// Options are a request's concurrency and consistency choices, validated by
// the store (daprd leaves validation to the component).
type Options struct {
	Concurrency string
	Consistency string
}

// Check returns daprd's error for an unknown consistency or concurrency.
func (o Options) Check() error {
	if o.Consistency != "" && o.Consistency != Strong && o.Consistency != Eventual {
		return errors.New("unrecognized consistency model '" + o.Consistency + "'")
	}
	if o.Concurrency != "" && o.Concurrency != FirstWrite && o.Concurrency != LastWrite {
		return errors.New("unrecognized concurrency model '" + o.Concurrency + "'")
	}
	return nil
}

// GetRequest reads one key. Key is the stored key (prefix included).
type GetRequest struct {
	Key         string
	Consistency string
	Metadata    map[string]string
}

// GetResponse is one value. Found is false when the key does not exist (or
// has expired). Metadata carries e.g. "ttlExpireTime" (RFC 3339, UTC).
type GetResponse struct {
	Found    bool
	Data     []byte
	ETag     string
	Metadata map[string]string
}

// SetRequest writes one key. Value is JSON text that the store must copy if
// it keeps it. ETag "" means none (daprd treats an empty etag as absent).
type SetRequest struct {
	Key      string
	Value    []byte
	ETag     string
	Metadata map[string]string
	Options  Options
}

// DeleteRequest removes one key.
type DeleteRequest struct {
	Key      string
	ETag     string
	Metadata map[string]string
	Options  Options
}

// BulkGetItem is one entry of a bulk read. Error is set when that key could
// not be read; a missing key is Found == false with no error.
type BulkGetItem struct {
	Key      string
	Found    bool
	Data     []byte
	ETag     string
	Metadata map[string]string
	Error    string
}

// Operation is one step of a transaction: exactly one of Set and Delete.
type Operation struct {
	Set    *SetRequest
	Delete *DeleteRequest
}

// TransactionRequest is an all-or-nothing batch.
type TransactionRequest struct {
	Operations []Operation
	Metadata   map[string]string
}

// QueryRequest is a state query; Query is the JSON query document as sent.
type QueryRequest struct {
	Query    []byte
	Metadata map[string]string
}

// QueryItem is one query result; Data is JSON text.
type QueryItem struct {
	Key   string
	Data  []byte
	ETag  string
	Error string
}

// QueryResponse is a page of query results.
type QueryResponse struct {
	Results  []QueryItem
	Token    string
	Metadata map[string]string
}

// Store is a state store component. Implementations must be safe for
// concurrent use. Errors that concern etags are *ETagError so the block can
// answer 409 or 400; any other error is a 500 (or an HTTPError's status).
type Store interface {
	Features() Feature
	Get(ctx context.Context, req *GetRequest) (GetResponse, error)
	Set(ctx context.Context, req *SetRequest) error
	Delete(ctx context.Context, req *DeleteRequest) error
	// BulkGet reads several keys; parallelism <= 0 means no limit. An error
	// fails the whole call; per-key problems go in BulkGetItem.Error.
	BulkGet(ctx context.Context, reqs []GetRequest, parallelism int) ([]BulkGetItem, error)
	// BulkSet writes several keys, not atomically (daprd's contract). A
	// failure of some items is errors.Join of *BulkStoreError.
	BulkSet(ctx context.Context, reqs []SetRequest) error
	Close() error
}

// Transactional stores run TransactionRequest atomically; they must also
// report FeatureTransactional.
type Transactional interface {
	Multi(ctx context.Context, req *TransactionRequest) error
}

// Querier stores answer the query API; they must also report FeatureQuery.
type Querier interface {
	Query(ctx context.Context, req *QueryRequest) (*QueryResponse, error)
}

// InlineStore is implemented by stores whose calls never block (in-memory):
// their requests are served on the event loop.
type InlineStore interface {
	InlineSafe() bool
}

// AsyncGetter is implemented by backend stores that serve plain reads (no
// metadata, no consistency option) without blocking a goroutine per
// request: GetAsync starts the read of key (the stored key, which the store
// may keep) and calls done exactly once, from any goroutine, typically after
// a round trip shared with other requests. The block then answers from the
// event loop without a worker hand-off. done must treat the response's Data
// as read-only: it may view the store's reply (see BatchReader). AsyncGets reports whether the store takes that path (a
// wrapper may not).
type AsyncGetter interface {
	AsyncGets() bool
	GetAsync(key string, done func(GetResponse, error))
}

// ItemInfo describes a value served by AppendGet. ETag is a view into the
// store's immutable item (see doc.go); Expire is the expiry time in Unix
// nanoseconds, 0 for none.
type ItemInfo struct {
	ETag   []byte
	Expire int64
}

// FastGetter serves a read without allocating: the value is appended to dst.
// key is the stored key (prefix included) and is not retained.
type FastGetter interface {
	AppendGet(dst []byte, key []byte) (out []byte, info ItemInfo, found bool)
}

// ETagErrorKind says whether an etag did not match or could not be parsed.
type ETagErrorKind uint8

// ETag error kinds.
const (
	ETagMismatch ETagErrorKind = iota
	ETagInvalid
)

// ETagError is returned by stores for etag failures. Its text is daprd's.
type ETagError struct {
	Kind ETagErrorKind
	Err  error
}

func (e *ETagError) Error() string {
	prefix := "possible etag mismatch. error from state store"
	if e.Kind == ETagInvalid {
		prefix = "invalid etag value"
	}
	if e.Err != nil {
		return prefix + ": " + e.Err.Error()
	}
	return prefix
}

func (e *ETagError) Unwrap() error { return e.Err }

// NewETagError wraps err as an etag failure of the given kind.
func NewETagError(kind ETagErrorKind, err error) *ETagError {
	return &ETagError{Kind: kind, Err: err}
}

// BulkStoreError is the failure of one item of a BulkSet; its text is the
// item's error (daprd's BulkStoreError).
type BulkStoreError struct {
	Key string
	Err error
}

func (e *BulkStoreError) Error() string { return e.Err.Error() }
func (e *BulkStoreError) Unwrap() error { return e.Err }

// HTTPError lets a store choose the HTTP status of an error (daprd's kit
// errors carry one).
type HTTPError interface {
	error
	HTTPStatus() int
}

// ParseTTL reads metadata "ttlInSeconds" like daprd's in-memory store: empty
// means no TTL, a negative value means no TTL (it clears one on overwrite),
// anything else must be an integer (the error is strconv's).
func ParseTTL(md map[string]string) (seconds int64, err error) {
	s := md["ttlInSeconds"]
	if s == "" {
		return 0, nil
	}
	i, err := strconv.Atoi(s)
	if err != nil {
		return 0, err
	}
	if i < 0 {
		i = 0
	}
	return int64(i), nil
}

// BulkSetEach is a BulkSet for stores without a native one: each request goes
// through set, and failures are joined as daprd's DefaultBulkStore does.
func BulkSetEach(ctx context.Context, reqs []SetRequest, set func(context.Context, *SetRequest) error) error {
	var errs []error
	for i := range reqs {
		if err := set(ctx, &reqs[i]); err != nil {
			errs = append(errs, &BulkStoreError{Key: reqs[i].Key, Err: err})
		}
	}
	return errors.Join(errs...)
}

// BulkGetEach is a BulkGet for stores without a native one.
func BulkGetEach(ctx context.Context, reqs []GetRequest, get func(context.Context, *GetRequest) (GetResponse, error)) []BulkGetItem {
	out := make([]BulkGetItem, len(reqs))
	for i := range reqs {
		out[i].Key = reqs[i].Key
		r, err := get(ctx, &reqs[i])
		if err != nil {
			out[i].Error = err.Error()
			continue
		}
		out[i].Found, out[i].Data, out[i].ETag, out[i].Metadata = r.Found, r.Data, r.ETag, r.Metadata
	}
	return out
}
