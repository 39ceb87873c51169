package pubsub

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/skiffd/skiff/blocks/internal/uuid"
	"github.com/skiffd/skiff/dataplane/http1"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/jsonscan"
)

// CloudEvent attribute values daprd uses.
const (
	DefaultEventType   = "com.dapr.event.sent"
	DefaultEventSource = "Dapr"
	SpecVersion        = "1.0"
	defaultContentType = "text/plain"
	// CloudEventContentType is the content type of a CloudEvent in
	// structured mode, and of every delivery to the app.
	CloudEventContentType = "application/cloudevents+json"
)

// Event is what NewEnvelope wraps. Strings may be views; the envelope is
// appended to a caller's buffer, so nothing is kept.
type Event struct {
	Source      string // the publishing app's id
	Topic       []byte
	Pubsub      []byte
	ContentType []byte
	Data        []byte
	TraceParent []byte
	TraceState  []byte
	Metadata    map[string]string
	Now         time.Time
	// IDSpan is set by AppendEnvelope: where the event's id lies, unquoted
	// and unescaped, in the appended bytes (offsets into the returned
	// slice); zero when the id needed escaping or came with an incoming
	// CloudEvent (a broker that needs it reads it from the JSON then).
	IDSpan [2]int
}

var errNotObject = errors.New("a CloudEvent must be a JSON object")

// AppendEnvelope appends the CloudEvent daprd 1.18 publishes for ev to dst:
// NewCloudEvent (or FromCloudEvent for a body that already is one) followed
// by ApplyMetadata, serialized with sorted keys as encoding/json does. An
// error means the body claimed to be a CloudEvent and is not a JSON object
// (daprd: ERR_PUBSUB_CLOUD_EVENTS_SER).
func AppendEnvelope(dst []byte, ev *Event, features Features) ([]byte, error) {
	expiration := ""
	if !features.Has(FeatureMessageTTL) {
		if ttl, ok := TTL(ev.Metadata); ok {
			exp := ev.Now.UTC().Add(ttl)
			expiration = exp.Format(time.RFC3339)
		}
	}
	if IsCloudEventContentType(string(ev.ContentType)) {
		ev.IDSpan = [2]int{}
		return appendFromCloudEvent(dst, ev, expiration)
	}
	// Overrides: daprd decodes the metadata into its CloudEvent struct with
	// mapstructure.WeakDecode, which matches keys ignoring case.
	var id, source, typ, traceID, traceState, traceParent string
	var hasTraceID, hasTraceState bool
	for k, v := range ev.Metadata {
		if len(k) < len("cloudevent.") || !http1.EqualFoldString(k[:len("cloudevent.")], "cloudevent.") {
			continue
		}
		switch f := k[len("cloudevent."):]; {
		case http1.EqualFoldString(f, "id"):
			id = v
		case http1.EqualFoldString(f, "source"):
			source = v
		case http1.EqualFoldString(f, "type"):
			typ = v
		case http1.EqualFoldString(f, "traceid"):
			traceID, hasTraceID = v, true
		case http1.EqualFoldString(f, "tracestate"):
			traceState, hasTraceState = v, true
		case http1.EqualFoldString(f, "traceparent"):
			traceParent = v
		}
	}
	dst = append(dst, '{')
	ct := ev.ContentType
	if len(ct) == 0 {
		ct = []byte(defaultContentType)
	}
	switch {
	case IsJSONContentType(string(ct)) && jsonscan.Valid(ev.Data):
		dst = append(dst, `"data":`...)
		dst = jsonscan.AppendCompact(dst, ev.Data)
	case IsBinaryContentType(string(ct)):
		dst = append(dst, `"data_base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, ev.Data)
		dst = append(dst, '"')
	default:
		dst = append(dst, `"data":`...)
		dst = apierr.AppendJSONString(dst, string(ev.Data))
	}
	dst = append(dst, `,"datacontenttype":`...)
	dst = apierr.AppendJSONString(dst, string(ct))
	if expiration != "" {
		dst = append(dst, `,"expiration":"`...)
		dst = append(dst, expiration...)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"id":`...)
	ev.IDSpan = [2]int{}
	if id == "" {
		dst = append(dst, '"')
		start := len(dst)
		dst = AppendUUID(dst)
		ev.IDSpan = [2]int{start, len(dst)}
		dst = append(dst, '"')
	} else {
		start := len(dst)
		dst = apierr.AppendJSONString(dst, id)
		if len(dst)-start == len(id)+2 { // nothing escaped
			ev.IDSpan = [2]int{start + 1, len(dst) - 1}
		}
	}
	dst = append(dst, `,"pubsubname":`...)
	dst = apierr.AppendJSONString(dst, string(ev.Pubsub))
	if source == "" {
		source = ev.Source
	}
	if source == "" {
		source = DefaultEventSource
	}
	dst = append(dst, `,"source":`...)
	dst = apierr.AppendJSONString(dst, source)
	dst = append(dst, `,"specversion":"1.0","time":"`...)
	dst = ev.Now.AppendFormat(dst, time.RFC3339)
	dst = append(dst, `","topic":`...)
	dst = apierr.AppendJSONString(dst, string(ev.Topic))
	// traceid and traceparent carry the same value; a traceparent
	// override wins over a traceid override, which wins over the request's.
	// traceid and traceparent: the request's trace unless overridden
	// (bytes, to spare a string per event).
	if traceParent != "" {
		traceID, hasTraceID = traceParent, true
	}
	for _, field := range []string{`,"traceid":`, `,"traceparent":`} {
		dst = append(dst, field...)
		if hasTraceID {
			dst = apierr.AppendJSONString(dst, traceID)
		} else {
			dst = appendJSONBytes(dst, ev.TraceParent)
		}
	}
	dst = append(dst, `,"tracestate":`...)
	if hasTraceState {
		dst = apierr.AppendJSONString(dst, traceState)
	} else {
		dst = appendJSONBytes(dst, ev.TraceState)
	}
	if typ == "" {
		typ = DefaultEventType
	}
	dst = append(dst, `,"type":`...)
	dst = apierr.AppendJSONString(dst, typ)
	dst = append(dst, '}')
	return dst, nil
}

// appendFromCloudEvent is daprd's FromCloudEvent: the app's CloudEvent
// keeps its attributes; trace, topic and pubsub name are set; source, type
// and specversion get defaults when missing.
func appendFromCloudEvent(dst []byte, ev *Event, expiration string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		return dst, err
	}
	if m == nil {
		return dst, errNotObject
	}
	str := func(s string) json.RawMessage { return apierr.AppendJSONString(nil, s) }
	tp := str(string(ev.TraceParent))
	m["traceid"] = tp
	m["traceparent"] = tp
	m["tracestate"] = str(string(ev.TraceState))
	m["topic"] = str(string(ev.Topic))
	m["pubsubname"] = str(string(ev.Pubsub))
	if isNull(m["source"]) {
		m["source"] = str(DefaultEventSource)
	}
	if isNull(m["type"]) {
		m["type"] = str(DefaultEventType)
	}
	if isNull(m["specversion"]) {
		m["specversion"] = str(SpecVersion)
	}
	if expiration != "" {
		m["expiration"] = str(expiration)
	}
	return appendSortedObject(dst, m), nil
}

// isNull: daprd tests m[field] == nil, true for a missing key and for null.
func isNull(v json.RawMessage) bool { return v == nil || string(v) == "null" }

// TTL reads metadata ttlInSeconds as daprd's TryGetTTL does; an invalid or
// non-positive value is ignored, as daprd ignores the error.
func TTL(md map[string]string) (time.Duration, bool) {
	v, ok := md["ttlInSeconds"]
	if !ok || v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	if n > math.MaxInt64/int64(time.Second) {
		return math.MaxInt64, true
	}
	return time.Duration(n) * time.Second, true
}

// AppendUUID appends a random version 4 UUID (a CloudEvent id).
func AppendUUID(dst []byte) []byte { return uuid.AppendFast(dst) }

// AppendTraceParent appends the W3C traceparent the event carries: the
// request's trace with a new span id when it sent a valid traceparent,
// otherwise a new, unsampled trace (daprd starts a span for every request).
func AppendTraceParent(dst, incoming []byte) []byte {
	const hexd = "0123456789abcdef"
	appendHex := func(dst []byte, v uint64, n int) []byte {
		for i := n - 1; i >= 0; i-- {
			dst = append(dst, hexd[(v>>(4*uint(i)))&15])
		}
		return dst
	}
	if validTraceParent(incoming) {
		dst = append(dst, incoming[:36]...)
		dst = appendHex(dst, rand.Uint64()|1, 16)
		return append(dst, incoming[52:55]...)
	}
	dst = append(dst, "00-"...)
	dst = appendHex(dst, rand.Uint64()|1, 16)
	dst = appendHex(dst, rand.Uint64(), 16)
	dst = append(dst, '-')
	dst = appendHex(dst, rand.Uint64()|1, 16)
	return append(dst, "-00"...)
}

// validTraceParent checks "00-<32 hex>-<16 hex>-<2 hex>" with a non-zero
// trace and span id.
func validTraceParent(b []byte) bool {
	if len(b) != 55 || b[0] != '0' || b[1] != '0' || b[2] != '-' || b[35] != '-' || b[52] != '-' {
		return false
	}
	nonZero := func(s []byte) bool {
		z := false
		for _, c := range s {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
			if c != '0' {
				z = true
			}
		}
		return z
	}
	return nonZero(b[3:35]) && nonZero(b[36:52]) && (nonZero(b[53:55]) || b[53] == '0' && b[54] == '0')
}

// isContentType is contrib's: the whole value, or the part before ';',
// equals want (lower-cased).
func isContentType(ct, want string) bool {
	if http1.EqualFoldString(ct, want) {
		return true
	}
	for i := 0; i < len(ct); i++ {
		if ct[i] == ';' {
			return http1.EqualFoldString(ct[:i], want)
		}
	}
	return false
}

// IsCloudEventContentType, IsJSONContentType, IsBinaryContentType and
// IsStringContentType are components-contrib's content type tests.
func IsCloudEventContentType(ct string) bool { return isContentType(ct, CloudEventContentType) }
func IsJSONContentType(ct string) bool       { return isContentType(ct, "application/json") }
func IsBinaryContentType(ct string) bool     { return isContentType(ct, "application/octet-stream") }
func IsStringContentType(ct string) bool {
	if len(ct) >= 5 && http1.EqualFoldString(ct[:5], "text/") {
		return true
	}
	return isContentType(ct, "application/xml")
}

// appendJSONBytes is apierr.AppendJSONString for bytes; plain ASCII (a
// traceparent) is copied without a string conversion.
func appendJSONBytes(dst, b []byte) []byte {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return apierr.AppendJSONString(dst, string(b))
		}
	}
	dst = append(dst, '"')
	dst = append(dst, b...)
	return append(dst, '"')
}
