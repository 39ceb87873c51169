package apierr

import "sync/atomic"

// categories is daprd's error-code category table (pkg/messages/errorcodes)
// for the codes skiff answers: dapr_error_code_total counts only these, as
// daprd counts only errors carrying one of its ErrorCode values.
var categories = map[string]string{
	"ERR_STATE_TRANSACTION":                 "state",
	"ERR_STATE_SAVE":                        "state",
	"ERR_STATE_GET":                         "state",
	"ERR_STATE_DELETE":                      "state",
	"ERR_STATE_BULK_DELETE":                 "state",
	"ERR_STATE_BULK_GET":                    "state",
	"ERR_NOT_SUPPORTED_STATE_OPERATION":     "state",
	"ERR_STATE_QUERY":                       "state",
	"ERR_STATE_STORE_NOT_FOUND":             "state",
	"ERR_STATE_STORE_NOT_CONFIGURED":        "state",
	"ERR_STATE_STORE_NOT_SUPPORTED":         "state",
	"ERR_STATE_STORE_TOO_MANY_TRANSACTIONS": "state",

	"ERR_CONFIGURATION_GET":                  "configuration",
	"ERR_CONFIGURATION_STORE_NOT_CONFIGURED": "configuration",
	"ERR_CONFIGURATION_STORE_NOT_FOUND":      "configuration",
	"ERR_CONFIGURATION_SUBSCRIBE":            "configuration",
	"ERR_CONFIGURATION_UNSUBSCRIBE":          "configuration",

	"ERR_SECRET_GET":                   "secret",
	"ERR_SECRET_STORE_NOT_FOUND":       "secret",
	"ERR_SECRET_STORES_NOT_CONFIGURED": "secret",
	"ERR_PERMISSION_DENIED":            "secret",

	"ERR_PUBSUB_EMPTY":            "pubsub",
	"ERR_PUBSUB_NOT_FOUND":        "pubsub",
	"ERR_PUBSUB_NOT_CONFIGURED":   "pubsub",
	"ERR_TOPIC_NAME_EMPTY":        "pubsub",
	"ERR_PUBSUB_FORBIDDEN":        "pubsub",
	"ERR_PUBSUB_PUBLISH_MESSAGE":  "pubsub",
	"ERR_PUBSUB_REQUEST_METADATA": "pubsub",
	"ERR_PUBSUB_CLOUD_EVENTS_SER": "pubsub",
	"ERR_PUBSUB_EVENTS_SER":       "pubsub",
	"ERR_PUBLISH_OUTBOX":          "pubsub",

	"ERR_DIRECT_INVOKE": "service-invocation",

	"ERR_INVOKE_OUTPUT_BINDING": "binding",

	"ERR_LOCK_STORE_NOT_CONFIGURED": "lock",
	"ERR_LOCK_STORE_NOT_FOUND":      "lock",
	"ERR_TRY_LOCK":                  "lock",
	"ERR_UNLOCK":                    "lock",

	"ERR_HEALTH_NOT_READY":          "health",
	"ERR_HEALTH_APPID_NOT_MATCH":    "health",
	"ERR_OUTBOUND_HEALTH_NOT_READY": "health",

	"ERR_API_UNIMPLEMENTED":      "common",
	"ERR_APP_CHANNEL_NIL":        "common",
	"ERR_BAD_REQUEST":            "common",
	"ERR_BODY_READ":              "common",
	"ERR_INTERNAL":               "common",
	"ERR_MALFORMED_REQUEST":      "common",
	"ERR_MALFORMED_REQUEST_DATA": "common",
	"ERR_MALFORMED_RESPONSE":     "common",
}

// Category is daprd's category of code ("state", "pubsub", …), "" for a
// code daprd's table does not have.
func Category(code string) string { return categories[code] }

// Recorder is told about every error answered (code and its category).
type Recorder func(category, code string)

var recorder atomic.Pointer[Recorder]

// SetRecorder installs r (nil removes it); cmd calls it once at start-up
// when Configuration spec.metric.recordErrorCodes asks for error metrics.
func SetRecorder(r Recorder) {
	if r == nil {
		recorder.Store(nil)
		return
	}
	recorder.Store(&r)
}

// Record reports an error answered with code to the recorder, if one is
// set and daprd's table knows the code. AppendJSON calls it; a block that
// encodes its own error bodies (blocks/state) calls it too.
func Record(code string) {
	r := recorder.Load()
	if r == nil {
		return
	}
	if c := categories[code]; c != "" {
		(*r)(c, code)
	}
}
