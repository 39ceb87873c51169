package pubsub

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/jsonscan"
)

// ---- bulk publish ----

// bulkEntryJSON is one item of a bulk publish body.
type bulkEntryJSON struct {
	EntryID     string            `json:"entryId"`
	Event       json.RawMessage   `json:"event"`
	ContentType string            `json:"contentType"`
	Metadata    map[string]string `json:"metadata"`
}

// ParseBulkPublish parses a bulk publish body
// ([{entryId, event, contentType, metadata}]) and converts each event to
// the bytes daprd publishes (ConvertEventToBytes). The error kinds are
// daprd's: a body that is not the array → ERR_PUBSUB_EVENTS_SER (400); an
// event that does not fit its content type → ERR_PUBSUB_CLOUD_EVENTS_SER
// (500); a missing or repeated entryId → ERR_PUBSUB_EVENTS_SER.
func ParseBulkPublish(body []byte, topic, pubsub string, reqMeta map[string]string) ([]BulkEntry, *Failure) {
	var in []bulkEntryJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, failf(apierr.PubsubEventsSer, "error when unmarshaling the request for topic %s pubsub %s: %s", topic, pubsub, err)
	}
	entries := make([]BulkEntry, len(in))
	ids := make(map[string]bool, len(in))
	for i := range in {
		e := &in[i]
		b, err := ConvertEventToBytes(e.Event, e.ContentType)
		if err != nil {
			return nil, failf(apierr.PubsubCloudEventsSer, "error when marshalling cloud event envelope for topic %s pubsub %s", topic, pubsub)
		}
		entries[i] = BulkEntry{Event: b, ContentType: e.ContentType}
		if e.Metadata != nil {
			md := make(map[string]string, len(reqMeta)+len(e.Metadata))
			for k, v := range reqMeta {
				md[k] = v
			}
			for k, v := range e.Metadata {
				md[k] = v
			}
			entries[i].Metadata = md
		}
		if e.EntryID == "" || ids[e.EntryID] {
			return nil, failf(apierr.PubsubEventsSer, "error marshaling events to bytes for topic %s pubsub %s. error: entryId is duplicated or not present for entry", topic, pubsub)
		}
		ids[e.EntryID] = true
		entries[i].EntryID = e.EntryID
	}
	return entries, nil
}

// ConvertEventToBytes is daprd's: binary content types take a base64
// string, text types a string, JSON and CloudEvent types any JSON value.
func ConvertEventToBytes(ev json.RawMessage, ct string) ([]byte, error) {
	switch {
	case IsBinaryContentType(ct):
		var s string
		if json.Unmarshal(ev, &s) != nil {
			return nil, errMismatch
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("error: unable to decode base64 application/octect-stream data: %w", err)
		}
		return b, nil
	case IsStringContentType(ct):
		var s string
		if json.Unmarshal(ev, &s) != nil {
			return nil, errMismatch
		}
		return []byte(s), nil
	case IsJSONContentType(ct) || IsCloudEventContentType(ct):
		if len(ev) == 0 {
			return []byte("null"), nil
		}
		return jsonscan.AppendCompact(nil, ev), nil
	}
	return nil, errMismatch
}

// BulkPublish wraps each entry (unless rawPayload) and publishes them.
// entryTrace, when set (tracing on), is each entry's own traceparent (its
// producer span's), carried as is; otherwise the entries carry the
// request's trace with a new span id. A nil Failure and no failed entries
// mean 204.
func (a *API) BulkPublish(ctx context.Context, c *Component, topicB []byte, entries []BulkEntry, reqMeta map[string]string, traceParent, traceState []byte, entryTrace [][]byte) ([]BulkFailure, *Failure) {
	raw, err := RawPayload(reqMeta)
	if err != nil {
		return nil, failf(apierr.PubsubRequestMetadata, "failed deserializing metadata. Error: %s", err)
	}
	topic := a.intern(topicB)
	if !raw {
		for i := range entries {
			e := &entries[i]
			in := PublishInput{Topic: topicB, ContentType: []byte(e.ContentType), Body: e.Event, Metadata: e.Metadata, TraceParent: traceParent, TraceState: traceState}
			if i < len(entryTrace) {
				in.TraceParent, in.TraceExact = entryTrace[i], true
			}
			var tp [55]byte
			buf, _, f := a.envelope(nil, &tp, c, &in)
			if f != nil {
				return nil, f
			}
			e.Event = buf
		}
	}
	if !c.PublishAllowed(topic) {
		return nil, failf(apierr.PubsubForbidden, "topic %s is not allowed for app id %s", topic, a.appID)
	}
	req := BulkPublishRequest{Topic: topic, Entries: entries, Metadata: reqMeta}
	if c.bulk != nil {
		return c.bulk.BulkPublish(ctx, &req), nil
	}
	var failed []BulkFailure
	for i := range entries {
		e := &entries[i]
		if err := c.PS.Publish(ctx, &PublishRequest{Topic: topic, Data: e.Event, ContentType: e.ContentType, Metadata: e.Metadata}); err != nil {
			failed = append(failed, BulkFailure{EntryID: e.EntryID, Err: err})
		}
	}
	return failed, nil
}

// AppendBulkFailure appends daprd's answer to a bulk publish with failed
// entries: {"failedEntries":[{"entryId","error"}],"errorCode":…}.
func AppendBulkFailure(dst []byte, failed []BulkFailure) []byte {
	dst = append(dst, `{"failedEntries":[`...)
	for i, f := range failed {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"entryId":`...)
		dst = apierr.AppendJSONString(dst, f.EntryID)
		if f.Err != nil {
			dst = append(dst, `,"error":`...)
			dst = apierr.AppendJSONString(dst, f.Err.Error())
		}
		dst = append(dst, '}')
	}
	return append(dst, `],"errorCode":"ERR_PUBSUB_PUBLISH_MESSAGE"}`...)
}

// ---- bulk subscribe ----

// handleBulk is the component's BulkHandler: the batch goes to the app as
// daprd's bulk subscribe envelope, one request per route, and the app's
// per-entry statuses decide each message.
func (d *deliverer) handleBulk(ctx context.Context, msgs []*Message) []error {
	errs := make([]error, len(msgs))
	type item struct {
		idx   int
		id    string
		event []byte
		// traceID and traceState are the event's, kept only when
		// tracing is on.
		traceID, traceState string
	}
	groups := map[string][]item{}
	var order []string
	// Counted for daprd's bulk ingress metrics: per message outcome, and
	// the app call's latency (the last call's, as daprd).
	var nOK, nDrop, nRetry int
	var el time.Duration
	if obs := d.obs; obs != nil {
		defer func() { obs.BulkIngress(d.s.Topic, nOK, nDrop, nRetry, el) }()
	}
	for i, m := range msgs {
		body := m.Data
		if d.raw {
			body = appendFromRawPayload(nil, m.Data, m.Topic, d.s.PubsubName)
		}
		var event map[string]any
		if err := json.Unmarshal(body, &event); err != nil || event == nil {
			d.a.log.Error("pubsub: error deserializing cloud event; dropping the message", "topic", m.Topic)
			nDrop++
			continue
		}
		if expired(event) {
			nDrop++
			continue
		}
		path, err := d.s.Route(event)
		if err != nil || path == "" {
			d.a.log.Warn("pubsub: no route for the event; dropping it", "topic", m.Topic)
			nDrop++
			continue
		}
		if _, ok := groups[path]; !ok {
			order = append(order, path)
		}
		it := item{idx: i, id: string(AppendUUID(nil)), event: body}
		if d.a.tracer != nil {
			it.traceID, _ = event["traceid"].(string)
			it.traceState, _ = event["tracestate"].(string)
		}
		groups[path] = append(groups[path], it)
	}
	for _, path := range order {
		g := groups[path]
		body := []byte(`{"entries":[`)
		for j, it := range g {
			if j > 0 {
				body = append(body, ',')
			}
			body = append(body, `{"entryId":"`...)
			body = append(body, it.id...)
			body = append(body, `","event":`...)
			body = append(body, it.event...)
			body = append(body, `,"metadata":null,"contentType":"application/cloudevents+json"}`...)
		}
		body = append(body, `],"id":"`...)
		body = AppendUUID(body)
		body = append(body, `","metadata":null,"pubsubname":`...)
		body = apierr.AppendJSONString(body, d.s.PubsubName)
		body = append(body, `,"topic":`...)
		body = apierr.AppendJSONString(body, d.s.Topic)
		body = append(body, `,"type":"com.dapr.event.sent"}`...)
		// With tracing on, daprd starts a "pubsub/<topic>" span for each
		// event that carries a traceid, under it; the request carries the
		// last one's traceparent.
		var tp []byte
		var ends []func(error)
		if d.a.tracer != nil {
			for _, it := range g {
				if it.traceID == "" {
					continue
				}
				var end func(error)
				tp, end = d.a.tracer.StartDelivery(ctx, d.s.Topic, []byte(it.traceID), []byte(it.traceState))
				ends = append(ends, end)
			}
		}
		var start time.Time
		if d.obs != nil {
			start = time.Now()
		}
		statuses, out, code := d.postBulk(ctx, path, body, tp)
		if d.obs != nil {
			el = time.Since(start)
		}
		for _, end := range ends {
			var err error
			if code < 200 || code >= 400 {
				err = errRetry
			}
			end(err)
		}
		for _, it := range g {
			o := out
			if statuses != nil {
				st, ok := statuses[it.id]
				switch {
				case !ok:
					o = retry
				case st == "" || st == "SUCCESS":
					o = delivered
				case st == "DROP":
					o = dropped
				default:
					o = retry
				}
			}
			errs[it.idx] = d.settle(ctx, msgs[it.idx], o)
			switch {
			case o == delivered:
				nOK++
			case o != retry || errs[it.idx] == nil: // dropped, 404, or dead-lettered
				nDrop++
			default:
				nRetry++
			}
		}
	}
	return errs
}

// postBulk sends a bulk request (with traceparent tp when set); statuses
// maps entryId to the app's status when it answered 2xx with a statuses
// list; code is the app's HTTP status (0: not reached).
func (d *deliverer) postBulk(ctx context.Context, path string, body, tp []byte) (statuses map[string]string, out outcome, code int) {
	var req bulkReq
	req.init(path, body)
	if len(tp) > 0 {
		req.r.AddHeader([]byte("traceparent"), tp)
	}
	status, rb, err := d.roundTrip(ctx, &req)
	if err != nil {
		return nil, retry, 0
	}
	statuses, out = bulkVerdict(status, rb)
	return statuses, out, status
}

// bulkVerdict reads the app's answer to a bulk request.
func bulkVerdict(status int, rb []byte) (map[string]string, outcome) {
	if status >= 200 && status <= 299 {
		var r struct {
			Statuses []struct {
				EntryID string `json:"entryId"`
				Status  string `json:"status"`
			} `json:"statuses"`
		}
		if json.Unmarshal(rb, &r) != nil || r.Statuses == nil {
			return nil, delivered
		}
		m := make(map[string]string, len(r.Statuses))
		for _, s := range r.Statuses {
			m[s.EntryID] = strings.ToUpper(s.Status)
		}
		return m, delivered
	}
	if status == 404 {
		return nil, notFound
	}
	return nil, retry
}

var errNoApp = errors.New("no app channel")
