package state

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/jsonscan"
)

// StoreEntry is one configured state store component.
type StoreEntry struct {
	Name  string
	Store Store
	// KeyPrefix is the component's "keyPrefix" metadata as written: "appid"
	// (the default when empty), "name", "namespace", "none", or any other
	// string used as a literal prefix (lower-cased, as daprd does).
	KeyPrefix string
}

// Config is what the block needs from the sidecar's configuration.
type Config struct {
	AppID string
	// Namespace is the NAMESPACE environment variable (keyPrefix "namespace").
	Namespace string
}

// separator joins a key prefix and a key, as in daprd.
const separator = "||"

type entry struct {
	name     string
	store    Store
	prefix   string // "" or "{prefix}||"
	inline   bool
	fast     FastGetter // set only for inline stores
	tx       Transactional
	query    Querier
	async    AsyncGetter // set only for stores that are not inline
	features Feature
}

// API is the state block: configured stores and the operations on them. Its
// methods are transport-neutral; http.go adapts them to daprd's HTTP API.
type API struct {
	appID  string
	stores map[string]*entry
}

// New builds the block. A keyPrefix containing "||" is an error, as in daprd
// (the component fails to initialise).
func New(cfg Config, stores []StoreEntry) (*API, error) {
	a := &API{appID: cfg.AppID, stores: make(map[string]*entry, len(stores))}
	for _, s := range stores {
		if s.Store == nil {
			return nil, fmt.Errorf("state: store %q: nil component", s.Name)
		}
		if _, dup := a.stores[s.Name]; dup {
			return nil, fmt.Errorf("state: store %q: configured twice", s.Name)
		}
		prefix, err := keyPrefix(s.KeyPrefix, s.Name, cfg.AppID, cfg.Namespace)
		if err != nil {
			return nil, fmt.Errorf("state: store %q: %w", s.Name, err)
		}
		e := &entry{name: s.Name, store: s.Store, prefix: prefix, features: s.Store.Features()}
		if is, ok := s.Store.(InlineStore); ok && is.InlineSafe() {
			e.inline = true
			e.fast, _ = s.Store.(FastGetter)
		}
		if ag, ok := s.Store.(AsyncGetter); ok && !e.inline && ag.AsyncGets() {
			e.async = ag
		}
		if tx, ok := s.Store.(Transactional); ok && e.features.Has(FeatureTransactional) {
			e.tx = tx
		}
		if q, ok := s.Store.(Querier); ok && e.features.Has(FeatureQuery) {
			e.query = q
		}
		a.stores[s.Name] = e
	}
	return a, nil
}

// keyPrefix is daprd's GetModifiedStateKey strategy, resolved once.
func keyPrefix(strategy, storeName, appID, namespace string) (string, error) {
	if strings.Contains(strategy, separator) {
		return "", fmt.Errorf("input key/keyPrefix '%s' can't contain '%s'", strategy, separator)
	}
	switch s := strings.ToLower(strategy); s {
	case "", "appid":
		if appID == "" {
			return "", nil
		}
		return appID + separator, nil
	case "name":
		return storeName + separator, nil
	case "none":
		return "", nil
	case "namespace":
		if appID == "" {
			return "", nil
		}
		if namespace == "" {
			return appID + separator, nil
		}
		return namespace + "." + appID + separator, nil
	default:
		return s + separator, nil
	}
}

// Stores lists the configured store names (for the metadata API).
func (a *API) Stores() []string {
	out := make([]string, 0, len(a.stores))
	for n := range a.stores {
		out = append(out, n)
	}
	return out
}

// lookup finds a store by name without allocating on success.
func (a *API) lookup(name []byte) (*entry, *Error) {
	if len(a.stores) == 0 {
		return nil, errStoreNotConfigured(string(name), a.appID)
	}
	e := a.stores[string(name)]
	if e == nil {
		return nil, errStoreNotFound(string(name), a.appID)
	}
	return e, nil
}

func hasSeparator(key []byte) bool {
	for i := 0; i+1 < len(key); i++ {
		if key[i] == '|' && key[i+1] == '|' {
			return true
		}
	}
	return false
}

// appendKey appends the stored form of key to dst.
func (e *entry) appendKey(dst, key []byte) []byte {
	dst = append(dst, e.prefix...)
	return append(dst, key...)
}

// storeKey returns the stored form of key, or daprd's invalid-key error.
func (e *entry) storeKey(key string) (string, *Error) {
	if strings.Contains(key, separator) {
		return "", errInvalidKey(e.name, key)
	}
	if e.prefix == "" {
		return key, nil
	}
	return e.prefix + key, nil
}

// Get reads one key. A missing key is (GetResponse{Found: false}, nil).
func (a *API) Get(ctx context.Context, storeName, key, consistency string, md map[string]string) (GetResponse, *Error) {
	e, aerr := a.lookup([]byte(storeName))
	if aerr != nil {
		return GetResponse{}, aerr
	}
	return e.get(ctx, key, consistency, md)
}

func (e *entry) get(ctx context.Context, key, consistency string, md map[string]string) (GetResponse, *Error) {
	k, aerr := e.storeKey(key)
	if aerr != nil {
		return GetResponse{}, aerr
	}
	resp, err := e.store.Get(ctx, &GetRequest{Key: k, Consistency: consistency, Metadata: md})
	if err != nil {
		return GetResponse{}, e.getError(key, err)
	}
	return resp, nil
}

// getError is daprd's answer to a failed read of key.
func (e *entry) getError(key string, err error) *Error {
	status := 500
	var he HTTPError
	if errors.As(err, &he) {
		status = he.HTTPStatus()
	}
	return legacy(status, apierr.StateGet.Code,
		"fail to get "+key+" from state store "+e.name+": "+err.Error())
}

// Save writes reqs (keys as the app sent them; rewritten in place to stored
// keys). queryMD is merged into every item's metadata, overriding it.
func (a *API) Save(ctx context.Context, storeName string, reqs []SetRequest, queryMD map[string]string) *Error {
	e, aerr := a.lookup([]byte(storeName))
	if aerr != nil {
		return aerr
	}
	return e.save(ctx, reqs, queryMD)
}

func (e *entry) save(ctx context.Context, reqs []SetRequest, queryMD map[string]string) *Error {
	if len(reqs) == 0 {
		return nil
	}
	for i := range reqs {
		r := &reqs[i]
		if r.Key == "" {
			return errMalformed(`"key" is a required field`)
		}
		r.Metadata = mergeMD(r.Metadata, queryMD)
		k, aerr := e.storeKey(r.Key)
		if aerr != nil {
			return aerr
		}
		r.Key = k
	}
	var err error
	if len(reqs) == 1 {
		err = e.store.Set(ctx, &reqs[0])
	} else if err = e.store.BulkSet(ctx, reqs); err != nil {
		err = bulkSetError(err)
	}
	if err != nil {
		return legacy(storeErrStatus(err), apierr.StateSave.Code,
			"failed saving state in state store "+e.name+": "+err.Error())
	}
	return nil
}

// mergeMD is daprd's merge of query metadata into a request's: the request's
// map gets the query's entries; without one it shares the query's map.
func mergeMD(md, query map[string]string) map[string]string {
	if md == nil {
		return query
	}
	for k, v := range query {
		md[k] = v
	}
	return md
}

// Delete removes one key. etag is nil when the app sent no If-Match.
func (a *API) Delete(ctx context.Context, storeName, key string, etag *string, opts Options, md map[string]string) *Error {
	e, aerr := a.lookup([]byte(storeName))
	if aerr != nil {
		return aerr
	}
	return e.delete(ctx, key, etag, opts, md)
}

func (e *entry) delete(ctx context.Context, key string, etag *string, opts Options, md map[string]string) *Error {
	k, aerr := e.storeKey(key)
	if aerr != nil {
		return aerr
	}
	req := DeleteRequest{Key: k, Metadata: md, Options: opts}
	if etag != nil {
		req.ETag = *etag
	}
	if err := e.store.Delete(ctx, &req); err != nil {
		return legacy(storeErrStatus(err), apierr.StateDelete.Code,
			"failed deleting state with key "+key+": "+err.Error())
	}
	return nil
}

// BulkGet reads keys (as the app sent them); the items come back in the same
// order with the app's keys.
func (a *API) BulkGet(ctx context.Context, storeName string, keys []string, parallelism int, md map[string]string) ([]BulkGetItem, *Error) {
	e, aerr := a.lookup([]byte(storeName))
	if aerr != nil {
		return nil, aerr
	}
	return e.bulkGet(ctx, keys, parallelism, md)
}

func (e *entry) bulkGet(ctx context.Context, keys []string, parallelism int, md map[string]string) ([]BulkGetItem, *Error) {
	if len(keys) == 0 {
		return nil, nil
	}
	reqs := make([]GetRequest, len(keys))
	for i, k := range keys {
		sk, aerr := e.storeKey(k)
		if aerr != nil {
			return nil, aerr
		}
		reqs[i] = GetRequest{Key: sk, Metadata: md}
	}
	items, err := e.store.BulkGet(ctx, reqs, parallelism)
	if err != nil {
		status := 500
		var he HTTPError
		if errors.As(err, &he) {
			status = he.HTTPStatus()
		}
		return nil, legacy(status, apierr.StateBulkGet.Code, err.Error())
	}
	// daprd maps stored keys back with GetOriginalStateKey; app keys never
	// contain "||", so that is the key the app asked for.
	for i := 0; i < len(items) && i < len(keys); i++ {
		items[i].Key = keys[i]
	}
	if len(items) > len(keys) {
		items = items[:len(keys)]
	}
	return items, nil
}

// Transact runs ops atomically. Keys are the app's; they are rewritten in
// place. queryMD is merged into every operation's metadata.
func (a *API) Transact(ctx context.Context, storeName string, ops []Operation, bodyMD, queryMD map[string]string) *Error {
	e, aerr := a.lookup([]byte(storeName))
	if aerr != nil {
		return aerr
	}
	if e.tx == nil {
		return errTransactionsNotSupported(e.name)
	}
	return e.transact(ctx, ops, bodyMD, queryMD)
}

func (e *entry) transact(ctx context.Context, ops []Operation, bodyMD, queryMD map[string]string) *Error {
	if len(ops) == 0 {
		return nil
	}
	// daprd: request metadata = body metadata + query metadata; each
	// operation gets the query metadata merged into its own.
	reqMD := bodyMD
	if reqMD == nil {
		reqMD = queryMD
	} else {
		for k, v := range queryMD {
			reqMD[k] = v
		}
	}
	for i := range ops {
		switch {
		case ops[i].Set != nil:
			r := ops[i].Set
			k, aerr := e.storeKey(r.Key)
			if aerr != nil {
				return aerr
			}
			r.Key = k
			r.Metadata = mergeMD(r.Metadata, queryMD)
		case ops[i].Delete != nil:
			r := ops[i].Delete
			k, aerr := e.storeKey(r.Key)
			if aerr != nil {
				return aerr
			}
			r.Key = k
			r.Metadata = mergeMD(r.Metadata, queryMD)
		}
	}
	if err := e.tx.Multi(ctx, &TransactionRequest{Operations: ops, Metadata: reqMD}); err != nil {
		return legacy(500, apierr.StateTransaction.Code, "error while executing state transaction: "+err.Error())
	}
	return nil
}

// Query runs a state query (the JSON query document as sent).
func (a *API) Query(ctx context.Context, storeName string, query []byte, md map[string]string) (*QueryResponse, *Error) {
	e, aerr := a.lookup([]byte(storeName))
	if aerr != nil {
		return nil, aerr
	}
	return e.runQuery(ctx, query, md)
}

func (e *entry) runQuery(ctx context.Context, query []byte, md map[string]string) (*QueryResponse, *Error) {
	if e.query == nil {
		return nil, errQueryUnsupported(e.name)
	}
	if _, _, err := jsonscan.Validate(query); err != nil {
		return nil, errQueryFailed(e.name, "failed to parse JSON query body: "+err.Error())
	}
	resp, err := e.query.Query(ctx, &QueryRequest{Query: query, Metadata: md})
	if err != nil {
		return nil, errQueryFailed(e.name, err.Error())
	}
	if resp != nil {
		for i := range resp.Results {
			resp.Results[i].Key = originalKey(resp.Results[i].Key)
		}
	}
	return resp, nil
}

// originalKey is daprd's GetOriginalStateKey.
func originalKey(k string) string {
	parts := strings.Split(k, separator)
	if len(parts) <= 1 {
		return k
	}
	return parts[1]
}
