package configuration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"

	"github.com/skiffd/skiff/dataplane/apierr"
)

// Item is one configuration item, as daprd encodes it.
type Item struct {
	Value    string            `json:"value,omitempty"`
	Version  string            `json:"version,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Update is what a subscription receives: the items that changed; a nil
// item is a key that was deleted.
type Update struct {
	ID    string           `json:"id"`
	Items map[string]*Item `json:"items"`
}

// Handler receives a subscription's updates, one at a time.
type Handler func(ctx context.Context, u *Update)

// Store is a configuration store component.
type Store interface {
	// Get returns the items of keys (every item when keys is empty);
	// missing keys are left out.
	Get(ctx context.Context, keys []string, md map[string]string) (map[string]*Item, error)
	// Subscribe starts watching keys (every key when empty) and calls h
	// with each change until Unsubscribe or Close; ctx bounds only the
	// call itself.
	Subscribe(ctx context.Context, keys []string, md map[string]string, h Handler) (string, error)
	// Unsubscribe ends a subscription; an unknown id is an error.
	Unsubscribe(ctx context.Context, id string) error
	Close() error
}

// InlineStore is implemented by stores that never block.
type InlineStore interface {
	InlineSafe() bool
}

// Deliverer posts an update to the app. body is valid during the call.
type Deliverer interface {
	Post(ctx context.Context, path string, body []byte) (status int, err error)
}

// StoreEntry is one configured configuration store.
type StoreEntry struct {
	Name  string
	Store Store
}

// Config is what the block needs from the sidecar.
type Config struct {
	// App delivers updates to the app; nil when there is no --app-port
	// (subscribe then fails as in daprd).
	App Deliverer
	Log *slog.Logger
}

type entry struct {
	name   string
	store  Store
	inline bool
}

// API is the configuration block.
type API struct {
	app    Deliverer
	log    *slog.Logger
	stores map[string]*entry

	ctx    context.Context // ends at Close: deliveries in flight stop
	cancel context.CancelFunc
	mu     sync.Mutex
	subs   map[string]*entry // subscription id -> its store
	closed bool
}

// New builds the block.
func New(cfg Config, stores []StoreEntry) (*API, error) {
	a := &API{app: cfg.App, log: cfg.Log, stores: map[string]*entry{}, subs: map[string]*entry{}}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	for _, s := range stores {
		if s.Store == nil {
			return nil, fmt.Errorf("configuration: store %q: nil component", s.Name)
		}
		if _, dup := a.stores[s.Name]; dup {
			return nil, fmt.Errorf("configuration: store %q: configured twice", s.Name)
		}
		e := &entry{name: s.Name, store: s.Store}
		if is, ok := s.Store.(InlineStore); ok && is.InlineSafe() {
			e.inline = true
		}
		a.stores[s.Name] = e
	}
	return a, nil
}

// Error is an answer that is not a success.
type Error struct {
	Kind    *apierr.Error
	Message string
}

func (e *Error) Error() string { return e.Kind.Code + ": " + e.Message }

func (a *API) lookup(store string) (*entry, *Error) {
	if len(a.stores) == 0 {
		return nil, &Error{apierr.ConfigurationStoreNotConfigured, "configuration stores not configured"}
	}
	e := a.stores[store]
	if e == nil {
		return nil, &Error{apierr.ConfigurationStoreNotFound, "configuration store " + store + " not found"}
	}
	return e, nil
}

// keyList is fmt's %s of a []string, as daprd's messages print keys.
func keyList(keys []string) string { return fmt.Sprintf("%s", keys) }

// Get is daprd's onGetConfiguration.
func (a *API) Get(ctx context.Context, store string, keys []string, md map[string]string) (map[string]*Item, *Error) {
	e, aerr := a.lookup(store)
	if aerr != nil {
		return nil, aerr
	}
	items, err := e.store.Get(ctx, keys, md)
	if err != nil {
		return nil, &Error{apierr.ConfigurationGet, fmt.Sprintf("failed to get %s from Configuration store %s: %v", keyList(keys), store, err)}
	}
	return items, nil
}

// Subscribe is daprd's onSubscribeConfiguration.
func (a *API) Subscribe(ctx context.Context, store string, keys []string, md map[string]string) (string, *Error) {
	e, aerr := a.lookup(store)
	if aerr != nil {
		return "", aerr
	}
	if a.app == nil {
		return "", &Error{apierr.AppChannelNil, "app channel is not initialized. cannot subscribe to configuration updates"}
	}
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return "", &Error{apierr.ConfigurationSubscribe, fmt.Sprintf("failed to subscribe %s from Configuration store %s: %v", keyList(keys), store, errClosed)}
	}
	id, err := e.store.Subscribe(ctx, keys, md, func(_ context.Context, u *Update) { a.deliver(e.name, u) })
	if err != nil {
		return "", &Error{apierr.ConfigurationSubscribe, fmt.Sprintf("failed to subscribe %s from Configuration store %s: %v", keyList(keys), store, err)}
	}
	a.mu.Lock()
	a.subs[id] = e
	a.mu.Unlock()
	return id, nil
}

var errClosed = errors.New("the sidecar is shutting down")

// Unsubscribe is daprd's onUnsubscribeConfiguration. The message of a
// failure is returned as daprd writes it into {"message":…}.
func (a *API) Unsubscribe(ctx context.Context, store, id string) *Error {
	e, aerr := a.lookup(store)
	if aerr != nil {
		return aerr
	}
	if err := e.store.Unsubscribe(ctx, id); err != nil {
		return &Error{apierr.ConfigurationUnsubscribe, fmt.Sprintf("failed to unsubscribe to configuration request %s: %v", id, err)}
	}
	a.mu.Lock()
	delete(a.subs, id)
	a.mu.Unlock()
	return nil
}

// EncodeUpdate is the body daprd POSTs to the app: encoding/json's
// encoding of {"id","items"} with a final newline (json.Encoder).
func EncodeUpdate(u *Update) []byte {
	b, _ := json.Marshal(u)
	return append(b, '\n')
}

// deliver posts u to the app once per key, in key order. It runs on the
// store's goroutine.
func (a *API) deliver(store string, u *Update) {
	if a.ctx.Err() != nil {
		return
	}
	body := EncodeUpdate(u)
	keys := make([]string, 0, len(u.Items))
	for k := range u.Items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := (&url.URL{Path: "/configuration/" + store + "/" + k}).EscapedPath()
		st, err := a.app.Post(a.ctx, path, body)
		if err == nil && st != 200 {
			err = fmt.Errorf("error sending configuration item to application, status %d", st)
		}
		if err != nil && a.ctx.Err() == nil {
			a.log.Error("error sending configuration item to the app: "+err.Error(), "store", store, "key", k, "subscription", u.ID)
		}
	}
}

// Close ends every subscription and stops deliveries in flight.
func (a *API) Close() error {
	a.mu.Lock()
	a.closed = true
	subs := a.subs
	a.subs = map[string]*entry{}
	a.mu.Unlock()
	a.cancel()
	var errs []error
	for id, e := range subs {
		if err := e.store.Unsubscribe(context.Background(), id); err != nil {
			errs = append(errs, fmt.Errorf("configuration: unsubscribe %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// itemsJSON is daprd's json.Encoder output for the items map.
func itemsJSON(dst []byte, items map[string]*Item) []byte {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(items)
	return append(dst, buf.Bytes()...)
}
