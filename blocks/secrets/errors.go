package secrets

import (
	"fmt"

	"github.com/skiffd/skiff/dataplane/apierr"
)

// Error is an answer of the block that is not a success: one of daprd's
// messages.APIError values (errorCode and message only, no details).
type Error struct {
	E   *apierr.Error
	Msg string
}

func (e *Error) Error() string { return e.E.Code + ": " + e.Msg }

// daprd's pkg/messages: ErrSecretStoreNotConfigured, ErrSecretStoreNotFound,
// ErrSecretPermissionDenied, ErrSecretGet, ErrBulkSecretGet.

func errNotConfigured() *Error {
	return &Error{apierr.SecretStoresNotConf, "secret store is not configured"}
}

func errNotFound(store string) *Error {
	return &Error{apierr.SecretStoreNotFound, "failed finding secret store with key " + store}
}

func errPermissionDenied(key, store string) *Error {
	return &Error{apierr.SecretPermissionDenied, fmt.Sprintf("access denied by policy to get %q from %q", key, store)}
}

func errGet(key, store string, err error) *Error {
	return &Error{apierr.SecretGet, "failed getting secret with key " + key + " from secret store " + store + ": " + err.Error()}
}

func errBulkGet(store string, err error) *Error {
	return &Error{apierr.SecretGet, "failed getting secrets from secret store " + store + ": " + err.Error()}
}
