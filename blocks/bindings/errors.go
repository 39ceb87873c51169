package bindings

import (
	"github.com/skiffd/skiff/dataplane/apierr"
)

// Error is an answer of the output route that is not a success.
type Error struct {
	E   *apierr.Error
	Msg string
}

func (e *Error) Error() string { return e.E.Code + ": " + e.Msg }

// errMalformed is daprd's messages.ErrMalformedRequest.
func errMalformed(err error) *Error {
	return &Error{apierr.Malformed, "failed deserializing HTTP body: " + err.Error()}
}

// errInvoke is daprd's messages.ErrInvokeOutputBinding.
func errInvoke(name string, err error) *Error {
	return &Error{apierr.InvokeOutputBinding, "error invoking output binding " + name + ": " + err.Error()}
}
