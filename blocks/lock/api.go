package lock

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/skiffd/skiff/dataplane/apierr"
)

// Status is an unlock outcome, numbered as daprd's UnlockResponse_Status.
type Status int32

const (
	Success             Status = 0
	LockDoesNotExist    Status = 1
	LockBelongsToOthers Status = 2
	InternalError       Status = 3
)

// Store is a lock store component. Keys are the full stored keys
// ("lock||app||resource"); owner is the caller's lockOwner.
type Store interface {
	// TryLock takes key for owner until ttl passes, unless someone holds it.
	TryLock(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)
	// Unlock releases key if owner holds it.
	Unlock(ctx context.Context, key, owner string) (Status, error)
	Close() error
}

// InlineStore is implemented by stores that never block: their requests
// are served on the event loop.
type InlineStore interface {
	InlineSafe() bool
}

// StoreEntry is one configured lock store.
type StoreEntry struct {
	Name  string
	Store Store
	// KeyPrefix is the component's keyPrefix metadata: "appid" (default),
	// "name", "none", or a literal prefix (lower-cased, as daprd does).
	KeyPrefix string
}

// Config is what the block needs from the sidecar.
type Config struct {
	AppID string
}

const separator = "||"

type entry struct {
	name   string
	store  Store
	prefix string // "lock||…||" prepended to resource ids
	inline bool
}

// API is the lock block.
type API struct {
	stores map[string]*entry
}

// New builds the block. A keyPrefix containing "||" is an error, as daprd's
// component initialisation.
func New(cfg Config, stores []StoreEntry) (*API, error) {
	a := &API{stores: make(map[string]*entry, len(stores))}
	for _, s := range stores {
		if s.Store == nil {
			return nil, fmt.Errorf("lock: store %q: nil component", s.Name)
		}
		if _, dup := a.stores[s.Name]; dup {
			return nil, fmt.Errorf("lock: store %q: configured twice", s.Name)
		}
		prefix, err := KeyPrefix(s.KeyPrefix, s.Name, cfg.AppID)
		if err != nil {
			return nil, fmt.Errorf("lock: store %q: %w", s.Name, err)
		}
		e := &entry{name: s.Name, store: s.Store, prefix: prefix}
		if is, ok := s.Store.(InlineStore); ok && is.InlineSafe() {
			e.inline = true
		}
		a.stores[s.Name] = e
	}
	return a, nil
}

// KeyPrefix is daprd's GetModifiedLockKey strategy resolved once: the
// stored key is the result followed by the resource id.
func KeyPrefix(strategy, storeName, appID string) (string, error) {
	if strings.Contains(strategy, separator) {
		return "", fmt.Errorf("input key/keyPrefix '%s' can't contain '%s'", strategy, separator)
	}
	const api = "lock" + separator
	switch s := strings.ToLower(strategy); s {
	case "", "appid":
		if appID == "" {
			return api, nil
		}
		return api + appID + separator, nil
	case "name":
		return api + storeName + separator, nil
	case "none":
		return api, nil
	default:
		return api + s + separator, nil
	}
}

// Stores lists the configured store names.
func (a *API) Stores() []string {
	out := make([]string, 0, len(a.stores))
	for n := range a.stores {
		out = append(out, n)
	}
	return out
}

// Error is an answer that is not a success.
type Error struct {
	Kind    *apierr.Error
	Message string
}

func (e *Error) Error() string { return e.Kind.Code + ": " + e.Message }

// validate is daprd's lockValidateRequest: configured, resourceId, owner,
// then the store.
func (a *API) validate(store string, req *Request) (*entry, *Error) {
	if len(a.stores) == 0 {
		return nil, &Error{apierr.LockStoreNotConfigured, "lock store is not configured"}
	}
	if req.ResourceID == "" {
		return nil, &Error{apierr.Malformed, "ResourceId is empty in lock store " + store}
	}
	if req.LockOwner == "" {
		return nil, &Error{apierr.Malformed, "LockOwner is empty in lock store " + store}
	}
	e := a.stores[store]
	if e == nil {
		return nil, &Error{apierr.LockStoreNotFound, "lock store " + store + " not found"}
	}
	return e, nil
}

func illegalKey(key string) error {
	if strings.Contains(key, separator) {
		return fmt.Errorf("input key/keyPrefix '%s' can't contain '%s'", key, separator)
	}
	return nil
}

// TryLock is daprd's TryLockAlpha1.
func (a *API) TryLock(ctx context.Context, store string, req *Request) (bool, *Error) {
	if req.ExpiryInSeconds <= 0 {
		return false, &Error{apierr.Malformed, "ExpiryInSeconds is not positive in lock store " + store}
	}
	e, aerr := a.validate(store, req)
	if aerr != nil {
		return false, aerr
	}
	if err := illegalKey(req.ResourceID); err != nil {
		return false, &Error{apierr.TryLock, "failed to try acquiring lock: " + err.Error()}
	}
	ok, err := e.store.TryLock(ctx, e.prefix+req.ResourceID, req.LockOwner, time.Duration(req.ExpiryInSeconds)*time.Second)
	if err != nil {
		return false, &Error{apierr.TryLock, "failed to try acquiring lock: " + err.Error()}
	}
	return ok, nil
}

// Unlock is daprd's UnlockAlpha1.
func (a *API) Unlock(ctx context.Context, store string, req *Request) (Status, *Error) {
	e, aerr := a.validate(store, req)
	if aerr != nil {
		return InternalError, aerr
	}
	if err := illegalKey(req.ResourceID); err != nil {
		return InternalError, &Error{apierr.Unlock, "failed to release lock: " + err.Error()}
	}
	st, err := e.store.Unlock(ctx, e.prefix+req.ResourceID, req.LockOwner)
	if err != nil {
		return InternalError, &Error{apierr.Unlock, "failed to release lock: " + err.Error()}
	}
	return st, nil
}

// errMalformed is daprd's messages.ErrMalformedRequest for a body that does
// not decode.
func errMalformed(err error) *Error {
	return &Error{apierr.Malformed, "failed deserializing HTTP body: " + err.Error()}
}
