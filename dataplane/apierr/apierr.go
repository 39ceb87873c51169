// Package apierr is the one table of Dapr API error codes and their HTTP
// statuses, and the encoder of Dapr's JSON error body.
//
// Entries are immutable values shared by every goroutine; messages are built
// by the caller (error paths may allocate, hot paths never reach here).
package apierr

import "unicode/utf8"

// Error is one Dapr error code with the HTTP status daprd answers it with.
type Error struct {
	Status int
	Code   string
}

// The codes daprd 1.18 uses on the routes skiff serves. Status per Dapr's
// error-codes reference and daprd's HTTP API.
var (
	NotFound        = &Error{404, "ERR_NOT_FOUND"}
	MethodNotAllow  = &Error{405, "ERR_METHOD_NOT_ALLOWED"}
	BadRequest      = &Error{400, "ERR_BAD_REQUEST"}
	Malformed       = &Error{400, "ERR_MALFORMED_REQUEST"}
	MalformedData   = &Error{400, "ERR_MALFORMED_REQUEST_DATA"}
	BodyTooLarge    = &Error{413, "ERR_BODY_TOO_LARGE"}
	HeadTooLarge    = &Error{431, "ERR_HEADERS_TOO_LARGE"}
	Unauthorized    = &Error{401, "ERR_UNAUTHORIZED"}
	Unimplemented   = &Error{501, "ERR_API_UNIMPLEMENTED"}
	TooManyRequests = &Error{429, "ERR_TOO_MANY_REQUESTS"}
	Internal        = &Error{500, "ERR_INTERNAL"}

	StateStoreNotFound      = &Error{400, "ERR_STATE_STORE_NOT_FOUND"}
	StateStoreNotConfigured = &Error{500, "ERR_STATE_STORE_NOT_CONFIGURED"}
	StateGet                = &Error{500, "ERR_STATE_GET"}
	StateSave               = &Error{500, "ERR_STATE_SAVE"}
	StateDelete             = &Error{500, "ERR_STATE_DELETE"}
	StateBulkGet            = &Error{500, "ERR_STATE_BULK_GET"}
	StateTransaction        = &Error{500, "ERR_STATE_TRANSACTION"}
	StateQuery              = &Error{500, "ERR_STATE_QUERY"}
	NotSupportedStateOp     = &Error{400, "ERR_NOT_SUPPORTED_STATE_OPERATION"}
	StateStoreNotSupported  = &Error{500, "ERR_STATE_STORE_NOT_SUPPORTED"}
	ETagMismatch            = &Error{409, "ERR_STATE_SAVE"}
	ETagInvalid             = &Error{400, "ERR_STATE_SAVE"}

	DirectInvoke         = &Error{500, "ERR_DIRECT_INVOKE"}
	DirectInvokeNotReady = &Error{500, "ERR_DIRECT_INVOKE_NOT_READY"}
	HealthNotReady       = &Error{500, "ERR_HEALTH_NOT_READY"}
	HealthAppidNotMatch  = &Error{500, "ERR_HEALTH_APPID_NOT_MATCH"}
	MetadataGet          = &Error{500, "ERR_METADATA_GET"}

	PubsubNotFound      = &Error{404, "ERR_PUBSUB_NOT_FOUND"}
	PubsubNotConfigured = &Error{400, "ERR_PUBSUB_NOT_CONFIGURED"}
	PubsubForbidden     = &Error{403, "ERR_PUBSUB_FORBIDDEN"}
	SecretStoreNotFound = &Error{401, "ERR_SECRET_STORE_NOT_FOUND"}
	SecretStoresNotConf = &Error{500, "ERR_SECRET_STORES_NOT_CONFIGURED"}
	LockStoreNotFound   = &Error{400, "ERR_LOCK_STORE_NOT_FOUND"}
)

// AppendJSON appends {"errorCode":code,"message":msg} to dst. It is how
// every API error answer is written (router.Ctx.Error), so it also reports
// the error to the recorder (dapr_error_code_total), when one is set.
func (e *Error) AppendJSON(dst []byte, msg string) []byte {
	Record(e.Code)
	dst = append(dst, `{"errorCode":"`...)
	dst = append(dst, e.Code...)
	dst = append(dst, `","message":`...)
	dst = AppendJSONString(dst, msg)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString quotes s exactly as encoding/json.Marshal does (HTML
// escaping on, invalid UTF-8 replaced, U+2028/U+2029 escaped).
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
