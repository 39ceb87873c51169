package state

import (
	"errors"

	"github.com/skiffd/skiff/dataplane/apierr"
)

// Error is one answer of the block that is not a success: an HTTP status,
// daprd's error code and message, and, for errors daprd builds with
// dapr/kit's error builder, the google.rpc details it appends to the JSON
// body. Error paths may allocate; the GET hit path never builds one.
type Error struct {
	Status  int
	Code    string
	Message string

	kit       bool      // render "details" (kit errors)
	help      [2]string // Help link {url, description}; url "" for none
	violation [2]string // BadRequest field violation {field, description}; field "" for none
	resource  string    // ResourceInfo resource_name for type "state"; see hasRes
	hasRes    bool
	reason    string // ErrorInfo reason
	infoMeta  [][2]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Codes daprd uses that dataplane/apierr does not list (yet).
// TODO(lead): move these to dataplane/apierr.
const (
	codeStoreNotSupported = "ERR_STATE_STORE_NOT_SUPPORTED"
	codeNotSupportedOp    = "ERR_NOT_SUPPORTED_STATE_OPERATION" // 400 in daprd; apierr has 500
)

func legacy(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

func errMalformed(msg string) *Error {
	return legacy(400, apierr.Malformed.Code, msg)
}

// errBodyDecode is daprd's messages.ErrMalformedRequest.WithFormat(err).
func errBodyDecode(err error) *Error {
	return errMalformed("failed deserializing HTTP body: " + err.Error())
}

func appIDMeta(appID string) [][2]string {
	if appID == "" {
		return nil
	}
	return [][2]string{{"appID", appID}}
}

// errStoreNotFound is apierrors.StateStore(name).NotFound(appID).
func errStoreNotFound(name, appID string) *Error {
	return &Error{
		Status: 400, Code: apierr.StateStoreNotFound.Code,
		Message: "state store " + name + " is not found",
		kit:     true, reason: "DAPR_STATE_NOT_FOUND", infoMeta: appIDMeta(appID),
	}
}

// errStoreNotConfigured is apierrors.StateStore(name).NotConfigured(appID).
func errStoreNotConfigured(name, appID string) *Error {
	return &Error{
		Status: 500, Code: apierr.StateStoreNotConfigured.Code,
		Message: "state store " + name + " is not configured",
		kit:     true, reason: "DAPR_STATE_NOT_CONFIGURED", infoMeta: appIDMeta(appID),
	}
}

// errInvalidKey is apierrors.StateStore(name).InvalidKeyName(key, msg).
func errInvalidKey(store, key string) *Error {
	msg := "input key/keyPrefix '" + key + "' can't contain '||'"
	return &Error{
		Status: 400, Code: apierr.Malformed.Code, Message: msg,
		kit: true, violation: [2]string{key, msg}, resource: store, hasRes: true,
		reason: "DAPR_STATE_ILLEGAL_KEY",
	}
}

func errTransactionsNotSupported(store string) *Error {
	return &Error{
		Status: 500, Code: codeStoreNotSupported,
		Message:  "state store " + store + " doesn't support transactions",
		kit:      true,
		help:     [2]string{"https://docs.dapr.io/reference/components-reference/supported-state-stores/", "Check the list of state stores and the features they support"},
		resource: store, hasRes: true, reason: "DAPR_STATE_TRANSACTIONS_NOT_SUPPORTED",
	}
}

func errQueryUnsupported(store string) *Error {
	return &Error{
		Status: 500, Code: codeStoreNotSupported,
		Message: "state store does not support querying",
		kit:     true, resource: store, hasRes: true, reason: "DAPR_STATE_QUERYING_NOT_SUPPORTED",
	}
}

func errQueryFailed(store, detail string) *Error {
	return &Error{
		Status: 500, Code: apierr.StateQuery.Code,
		Message: "state store " + store + " query failed: " + detail,
		kit:     true, resource: store, hasRes: true, reason: "DAPR_STATE_QUERY_FAILED",
	}
}

// storeErrStatus is daprd's stateErrorResponse: etag errors are 409/400, a
// store-chosen status wins, anything else is 500.
func storeErrStatus(err error) int {
	var et *ETagError
	if errors.As(err, &et) {
		if et.Kind == ETagInvalid {
			return 400
		}
		return 409
	}
	var he HTTPError
	if errors.As(err, &he) {
		return he.HTTPStatus()
	}
	return 500
}

// bulkSetError is daprd's PerformBulkStoreOperation: when every failed item
// failed on its etag, the joined error is wrapped in one more ETagError.
func bulkSetError(err error) error {
	mErr, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	errs := mErr.Unwrap()
	if len(errs) == 0 {
		return err
	}
	invalid := false
	for _, e := range errs {
		var bse *BulkStoreError
		if !errors.As(e, &bse) {
			return err
		}
		var et *ETagError
		if !errors.As(bse.Err, &et) {
			return err // retriable in daprd; reported as-is after retries
		}
		if et.Kind == ETagInvalid {
			invalid = true
		}
	}
	if invalid {
		return NewETagError(ETagInvalid, err)
	}
	return NewETagError(ETagMismatch, err)
}

// AppendJSON appends e's JSON body as daprd writes it.
func (e *Error) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"errorCode":`...)
	dst = apierr.AppendJSONString(dst, e.Code)
	dst = append(dst, `,"message":`...)
	dst = apierr.AppendJSONString(dst, e.Message)
	if !e.kit {
		return append(dst, '}')
	}
	dst = append(dst, `,"details":[`...)
	first := true
	sep := func() {
		if !first {
			dst = append(dst, ',')
		}
		first = false
	}
	// Builder order in daprd: help / field violation, then resource info,
	// then error info.
	if e.help[0] != "" {
		sep()
		dst = append(dst, `{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":`...)
		dst = apierr.AppendJSONString(dst, e.help[1])
		dst = append(dst, `,"url":`...)
		dst = apierr.AppendJSONString(dst, e.help[0])
		dst = append(dst, `}]}`...)
	}
	if e.violation[0] != "" || e.violation[1] != "" {
		sep()
		dst = append(dst, `{"@type":"type.googleapis.com/google.rpc.BadRequest","field_violations":[{`...)
		open := false
		if e.violation[0] != "" {
			dst = append(dst, `"field":`...)
			dst = apierr.AppendJSONString(dst, e.violation[0])
			open = true
		}
		if e.violation[1] != "" {
			if open {
				dst = append(dst, ',')
			}
			dst = append(dst, `"description":`...)
			dst = apierr.AppendJSONString(dst, e.violation[1])
		}
		dst = append(dst, `}]}`...)
	}
	if e.hasRes {
		sep()
		dst = append(dst, `{"@type":"type.googleapis.com/google.rpc.ResourceInfo","description":"","owner":"","resource_name":`...)
		dst = apierr.AppendJSONString(dst, e.resource)
		dst = append(dst, `,"resource_type":"state"}`...)
	}
	sep()
	dst = append(dst, `{"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"dapr.io","metadata":`...)
	if e.infoMeta == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '{')
		for i, kv := range e.infoMeta { // callers pass keys sorted
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = apierr.AppendJSONString(dst, kv[0])
			dst = append(dst, ':')
			dst = apierr.AppendJSONString(dst, kv[1])
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `,"reason":`...)
	dst = apierr.AppendJSONString(dst, e.reason)
	return append(dst, `}]}`...)
}

const hexDigits = "0123456789abcdef"

// appendRawJSON appends valid JSON text with encoding/json's HTML escaping
// of RawMessage values (<, >, &, U+2028, U+2029 inside strings).
func appendRawJSON(dst, v []byte) []byte {
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '<' || c == '>' || c == '&' {
			dst = append(dst, v[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			start = i + 1
		} else if c == 0xE2 && i+2 < len(v) && v[i+1] == 0x80 && v[i+2]&^1 == 0xA8 {
			dst = append(dst, v[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[v[i+2]&0xf])
			i += 2
			start = i + 1
		}
	}
	return append(dst, v[start:]...)
}
