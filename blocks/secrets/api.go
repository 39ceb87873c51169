package secrets

import (
	"context"
	"fmt"
	"sort"

	"github.com/skiffd/skiff/blocks/resources"
)

// API is the secrets block over a set of stores.
type API struct {
	stores      map[string]Store
	nonBlocking map[string]bool // stores served on the event loop
	scopes      map[string]resources.SecretsScope
}

// New builds the block. conf may be nil (no secret scopes).
func New(stores []StoreEntry, conf *resources.Configuration) (*API, error) {
	a := &API{stores: make(map[string]Store, len(stores)), nonBlocking: map[string]bool{}, scopes: map[string]resources.SecretsScope{}}
	for _, s := range stores {
		if _, dup := a.stores[s.Name]; dup {
			return nil, fmt.Errorf("secrets: secret store %q defined twice", s.Name)
		}
		a.stores[s.Name] = s.Store
		if nb, ok := s.Store.(NonBlocking); ok && nb.NonBlocking() {
			a.nonBlocking[s.Name] = true
		}
	}
	if conf != nil && conf.Spec.Secrets != nil {
		for _, sc := range conf.Spec.Secrets.Scopes {
			a.scopes[sc.StoreName] = sc
		}
	}
	return a, nil
}

// Names returns the store names, sorted.
func (a *API) Names() []string {
	n := make([]string, 0, len(a.stores))
	for k := range a.stores {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// allowed is daprd's isSecretAllowed: a store without a scope allows all.
func (a *API) allowed(store, key string) bool {
	sc, ok := a.scopes[store]
	if !ok {
		return true
	}
	return sc.IsSecretAllowed(key)
}

func (a *API) store(name string) (Store, *Error) {
	if len(a.stores) == 0 {
		return nil, errNotConfigured()
	}
	s, ok := a.stores[name]
	if !ok {
		return nil, errNotFound(name)
	}
	return s, nil
}

// Get is daprd's GetSecret: store checks, then the scope, then the store.
func (a *API) Get(ctx context.Context, store, key string, md map[string]string) (map[string]string, *Error) {
	s, e := a.store(store)
	if e != nil {
		return nil, e
	}
	if !a.allowed(store, key) {
		return nil, errPermissionDenied(key, store)
	}
	data, err := s.GetSecret(ctx, key, md)
	if err != nil {
		return nil, errGet(key, store, err)
	}
	return data, nil
}

// Bulk is daprd's GetBulkSecret: every secret of the store, less those the
// scope denies (dropped silently, as daprd does).
func (a *API) Bulk(ctx context.Context, store string, md map[string]string) (map[string]map[string]string, *Error) {
	s, e := a.store(store)
	if e != nil {
		return nil, e
	}
	data, err := s.BulkGetSecret(ctx, md)
	if err != nil {
		return nil, errBulkGet(store, err)
	}
	if data == nil {
		return nil, nil
	}
	out := make(map[string]map[string]string, len(data))
	for k, v := range data {
		if a.allowed(store, k) {
			out[k] = v
		}
	}
	return out, nil
}
