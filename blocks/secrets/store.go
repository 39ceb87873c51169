package secrets

import "context"

// Store is a secret store component.
type Store interface {
	// GetSecret returns the values of the named secret (one key for
	// single-valued stores, several for multi-valued ones). A missing secret
	// is an error, except where the component defines otherwise
	// (secretstores.local.env answers an empty value, as Dapr's does).
	GetSecret(ctx context.Context, name string, md map[string]string) (map[string]string, error)
	// BulkGetSecret returns every secret the store exposes, by name.
	BulkGetSecret(ctx context.Context, md map[string]string) (map[string]map[string]string, error)
	// Features lists optional capabilities ("MULTIPLE_KEY_VALUES_PER_SECRET").
	Features() []string
	Close() error
}

// StoreEntry is a named store, as skiffd built it.
type StoreEntry struct {
	Name  string
	Store Store
}

// NonBlocking is implemented by stores that answer from memory without
// waiting (the local file and env stores): the block then serves them on
// the event loop instead of the worker pool.
type NonBlocking interface {
	NonBlocking() bool
}
