package pubsub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/jsonscan"
)

// App is the app channel the block delivers through
// (*appchannel.Client); Do is called from delivery goroutines only.
type App interface {
	Do(ctx context.Context, req *appchannel.Request, resp *appchannel.Response) error
}

// Start reads the app's subscriptions (GET /dapr/subscribe) and the
// declarative ones, and subscribes each, delivering through app. It runs
// once the app is reachable; delivery lasts until ctx ends. app may be nil
// (no --app-port): nothing is subscribed then, as in daprd.
func (a *API) Start(ctx context.Context, app App, declarative []resources.Subscription, pt *PipeTarget) {
	defer func() {
		for _, c := range a.comps {
			if r, ok := c.PS.(ReadyNotifier); ok {
				r.SubscriptionsReady()
			}
		}
	}()
	if app == nil || len(a.comps) == 0 {
		return
	}
	var subs []*Subscription
	if prog, err := a.fetchAppSubscriptions(ctx, app); err != nil {
		a.log.Error("pubsub: cannot read the app's subscriptions: " + err.Error())
	} else {
		subs = append(subs, prog...)
	}
	for i := range declarative {
		s, err := FromResource(&declarative[i])
		if err != nil {
			a.log.Error("pubsub: " + err.Error())
			continue
		}
		subs = append(subs, s)
	}
	seen := map[[2]string]bool{}
	for _, s := range subs {
		key := [2]string{s.PubsubName, s.Topic}
		if seen[key] {
			a.log.Warn("pubsub: a subscription to this topic already exists; skipping the duplicate", "pubsub", s.PubsubName, "topic", s.Topic)
			continue
		}
		seen[key] = true
		c := a.comps[s.PubsubName]
		if c == nil {
			a.log.Warn("pubsub: subscription to an unknown pubsub; skipping it", "pubsub", s.PubsubName, "topic", s.Topic)
			continue
		}
		if s.Topic == "" {
			a.log.Warn("pubsub: subscription without a topic; skipping it", "pubsub", s.PubsubName)
			continue
		}
		if !c.SubscribeAllowed(s.Topic) {
			a.log.Warn("pubsub: subscribing to this topic is not allowed for this app id; skipping it", "pubsub", s.PubsubName, "topic", s.Topic)
			continue
		}
		if len(s.Rules) == 0 {
			a.log.Warn("pubsub: subscription without a route; skipping it", "pubsub", s.PubsubName, "topic", s.Topic)
			continue
		}
		d := &deliverer{a: a, c: c, s: s, app: app, obs: c.obs}
		d.raw, _ = RawPayload(s.Metadata)
		var err error
		req := SubscribeRequest{Topic: s.Topic, Metadata: s.Metadata}
		lanes := lanesOf(c.PS, req)
		if s.Bulk.Enabled {
			n := int(s.Bulk.MaxMessagesCount)
			if n <= 0 {
				n = 100 // daprd's default maxMessagesCount
			}
			await := time.Duration(s.Bulk.MaxAwaitDurationMs) * time.Millisecond
			if s.Bulk.MaxAwaitDurationMs <= 0 {
				await = time.Second // daprd's default maxAwaitDurationMs
			}
			if bs, ok := c.PS.(BulkSubscriber); ok {
				err = bs.BulkSubscribe(ctx, req, n, await, d.handleBulk)
			} else {
				err = subscribeGathered(ctx, c.PS, req, n, await, d.handleBulk)
			}
		} else if ws, ok := c.PS.(WindowedSubscriber); ok && pt != nil && a.tracer == nil && lanes > 0 {
			// Pipelined delivery; with tracing on, each delivery gets its
			// span through the one-at-a-time path below.
			w := pt.Window
			if w <= 0 {
				w = 64
			}
			target := *pt
			if at, ok := c.PS.(AnswerTimeouter); ok {
				target.Timeout = at.AnswerTimeout(req)
			}
			d.pipes = make([]*pipe, lanes)
			for i := range d.pipes {
				d.pipes[i] = newPipe(ctx, d, target)
			}
			err = ws.SubscribeWindowed(ctx, req, w, d.handleAsync)
		} else {
			err = c.PS.Subscribe(ctx, req, d.handle)
		}
		if err != nil {
			a.log.Error("pubsub: subscribe failed: "+err.Error(), "pubsub", s.PubsubName, "topic", s.Topic)
			continue
		}
		a.subsMu.Lock()
		a.subs = append(a.subs, s)
		a.subsMu.Unlock()
		a.log.Info("pubsub: subscribed", "pubsub", s.PubsubName, "topic", s.Topic, "type", s.Type)
	}
}

// lanesOf is how many lanes a windowed subscription delivers on (1 unless
// the component says otherwise; 0: not windowed).
func lanesOf(ps PubSub, req SubscribeRequest) int {
	if lc, ok := ps.(LaneCounter); ok {
		return lc.Lanes(req)
	}
	return 1
}

func (a *API) fetchAppSubscriptions(ctx context.Context, app App) ([]*Subscription, error) {
	var req appchannel.Request
	req.Method = []byte("GET")
	req.Path = []byte("/dapr/subscribe")
	var resp appchannel.Response
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := app.Do(cctx, &req, &resp); err != nil {
		return nil, err
	}
	body, err := readBody(&resp)
	resp.Close()
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Status == 404:
		return nil, nil // the app has no programmatic subscriptions
	case resp.Status != 200:
		return nil, fmt.Errorf("app returned http status code %d from subscription endpoint", resp.Status)
	}
	return ParseAppSubscriptions(body)
}

func readBody(resp *appchannel.Response) ([]byte, error) {
	if resp.BodyStream == nil {
		return append([]byte(nil), resp.Body...), nil
	}
	return io.ReadAll(io.LimitReader(resp.BodyStream, 16<<20))
}

// deliverer sends one subscription's messages to the app.
type deliverer struct {
	a     *API
	c     *Component
	s     *Subscription
	app   App
	raw   bool    // subscription metadata rawPayload=true
	pipes []*pipe // pipelined delivery, when used: one per lane
	obs   IngressObserver
}

// outcome of one delivery.
type outcome uint8

const (
	delivered outcome = iota
	dropped           // DROP: dead letter if configured
	retry             // RETRY, non-2xx but 404, unreachable app
	notFound          // 404: not retried, not dead-lettered (daprd's non-retriable answer)
)

var errRetry = errors.New("delivery to the app failed; the message will be redelivered")

// handle is the component's Handler for this subscription.
func (d *deliverer) handle(ctx context.Context, msg *Message) error {
	body, path, ok := d.prepare(ctx, msg)
	if !ok {
		return nil
	}
	var tp []byte
	var end func(error)
	if d.a.tracer != nil {
		tp, end = d.startSpan(ctx, msg.Topic, body, nil)
	} else {
		tp = traceParentOf(body)
	}
	// The clock is read only when deliveries are observed (metrics on).
	var start time.Time
	if d.obs != nil {
		start = time.Now()
	}
	out := d.post(ctx, path, body, tp)
	var el time.Duration
	if d.obs != nil {
		el = time.Since(start)
	}
	if end != nil {
		var err error
		if out != delivered && out != notFound {
			err = errRetry
		}
		end(err)
	}
	return d.finish(ctx, msg, out, el)
}

// prepare turns a message into the body and path of its delivery; ok false
// means it is dropped (logged, dead-lettered when a dead-letter topic is
// set, observed): not a CloudEvent, expired, or no route.
func (d *deliverer) prepare(ctx context.Context, msg *Message) (body []byte, path string, ok bool) {
	body = msg.Data
	if d.raw {
		body = appendFromRawPayload(nil, msg.Data, msg.Topic, d.s.PubsubName)
	}
	var event map[string]any
	needEvent := d.s.NeedsEvent() || bytes.Contains(body, []byte(`"expiration"`))
	if needEvent {
		var err error
		if event, err = decodeEvent(body); err != nil || event == nil {
			d.a.log.Error("pubsub: error deserializing cloud event; dropping the message", "pubsub", d.s.PubsubName, "topic", msg.Topic)
			return d.drop(ctx, msg, IngressDrop)
		}
		if expired(event) {
			d.a.log.Warn("pubsub: dropping expired event", "pubsub", d.s.PubsubName, "topic", msg.Topic, "id", event["id"])
			return d.drop(ctx, msg, IngressDrop)
		}
	} else if len(body) == 0 || body[0] != '{' || (publishedRaw(msg) || !d.c.inline) && !jsonscan.Valid(body) {
		// An in-process queue holds only envelopes this block built
		// (valid JSON) and raw payloads; a broker may hold anything.
		d.a.log.Error("pubsub: error deserializing cloud event; dropping the message", "pubsub", d.s.PubsubName, "topic", msg.Topic)
		return d.drop(ctx, msg, IngressDrop)
	}
	path, err := d.s.Route(event)
	if err != nil {
		d.a.log.Error("pubsub: "+err.Error()+"; dropping the message", "pubsub", d.s.PubsubName, "topic", msg.Topic)
		return d.drop(ctx, msg, IngressDrop)
	}
	if path == "" {
		d.a.log.Warn("pubsub: no routing rule matches the event and there is no default route; dropping it", "pubsub", d.s.PubsubName, "topic", msg.Topic)
		return d.drop(ctx, msg, IngressDropSuccess)
	}
	return body, path, true
}

// drop settles a message the sidecar does not deliver: daprd sends it to
// the dead-letter topic when one is set, and counts it without latency.
func (d *deliverer) drop(ctx context.Context, msg *Message, st IngressStatus) ([]byte, string, bool) {
	if d.s.DeadLetterTopic != "" {
		_ = d.deadLetter(ctx, msg)
	}
	if d.obs != nil {
		d.obs.Ingress(msg.Topic, st, 0)
	}
	return nil, "", false
}

// startSpan starts the delivery's span under the event's traceparent (or
// traceid), as daprd does when tracing is on.
func (d *deliverer) startSpan(ctx context.Context, topic string, body []byte, event map[string]any) ([]byte, func(error)) {
	var tc struct {
		TraceParent string `json:"traceparent"`
		TraceID     string `json:"traceid"`
		TraceState  string `json:"tracestate"`
	}
	if event != nil {
		tc.TraceParent, _ = event["traceparent"].(string)
		tc.TraceID, _ = event["traceid"].(string)
		tc.TraceState, _ = event["tracestate"].(string)
	} else {
		_ = json.Unmarshal(body, &tc)
	}
	if tc.TraceParent == "" {
		tc.TraceParent = tc.TraceID
	}
	return d.a.tracer.StartDelivery(ctx, topic, []byte(tc.TraceParent), []byte(tc.TraceState))
}

// decodeEvent is apart from prepare so that only messages that need the
// event pay for the map pointer json.Unmarshal makes escape.
func decodeEvent(body []byte) (map[string]any, error) {
	var event map[string]any
	err := json.Unmarshal(body, &event)
	return event, err
}

// settle turns an outcome into the handler's answer: daprd sends a dropped
// message to the dead-letter topic, and a failed one too when a dead-letter
// topic is set (no resiliency retries yet); otherwise a failure is
// redelivered. A 404 is neither retried nor dead-lettered.
func (d *deliverer) settle(ctx context.Context, msg *Message, out outcome) error {
	switch out {
	case delivered, notFound:
		return nil
	case dropped:
		if d.s.DeadLetterTopic != "" {
			_ = d.deadLetter(ctx, msg)
		}
		return nil
	}
	if d.s.DeadLetterTopic != "" && d.deadLetter(ctx, msg) == nil {
		return nil
	}
	return errRetry
}

// finish settles one message delivered alone and reports it as daprd
// counts it: the app's answer with the call's latency (its postman), and
// for a failure a second record without latency (its subscription
// handler): drop when the message went to the dead-letter topic, retry
// when it comes again.
func (d *deliverer) finish(ctx context.Context, msg *Message, out outcome, el time.Duration) error {
	err := d.settle(ctx, msg, out)
	obs := d.obs
	if obs == nil {
		return err
	}
	switch out {
	case delivered:
		obs.Ingress(msg.Topic, IngressSuccess, el)
	case notFound:
		obs.Ingress(msg.Topic, IngressDrop, el)
	case dropped:
		obs.Ingress(msg.Topic, IngressDropSuccess, el)
	default:
		obs.Ingress(msg.Topic, IngressRetry, el)
		if err == nil {
			obs.Ingress(msg.Topic, IngressDrop, 0)
		} else {
			obs.Ingress(msg.Topic, IngressRetry, 0)
		}
	}
	return err
}

func (d *deliverer) deadLetter(ctx context.Context, msg *Message) error {
	err := d.c.PS.Publish(ctx, &PublishRequest{
		Topic: d.s.DeadLetterTopic, Data: append([]byte(nil), msg.Data...),
		ContentType: msg.ContentType, Metadata: msg.Metadata, DeadLetter: true,
	})
	if err != nil {
		d.a.log.Error("pubsub: cannot send the message to the dead-letter topic: "+err.Error(), "pubsub", d.s.PubsubName, "topic", msg.Topic, "deadLetterTopic", d.s.DeadLetterTopic)
	}
	return err
}

// post sends one CloudEvent to the app and reads its verdict as daprd does.
func (d *deliverer) post(ctx context.Context, path string, body, traceparent []byte) outcome {
	var req appchannel.Request
	req.Method = []byte("POST")
	req.Path = routePath(path)
	req.Body = body
	req.AddHeaderString("Content-Type", CloudEventContentType)
	if len(traceparent) > 0 {
		req.AddHeader([]byte("traceparent"), traceparent)
	}
	var resp appchannel.Response
	if err := d.app.Do(ctx, &req, &resp); err != nil {
		d.a.log.Debug("pubsub: delivery failed: "+err.Error(), "topic", d.s.Topic)
		return retry
	}
	rb, err := readBody(&resp)
	resp.Close()
	if err != nil {
		return retry
	}
	return verdict(resp.Status, rb, d)
}

func routePath(p string) []byte {
	if strings.HasPrefix(p, "/") {
		return []byte(p)
	}
	return []byte("/" + p)
}

// successBody is the answer most apps give (the Dapr SDKs' SUCCESS).
const successBody = `{"status":"SUCCESS"}`

func verdict(status int, body []byte, d *deliverer) outcome {
	switch {
	case status >= 200 && status <= 299:
		if len(body) == 0 || string(body) == successBody {
			return delivered // the usual answers, without a JSON decoder
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return delivered
		}
		var r struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return delivered // daprd skips the status check when the body is not JSON
		}
		switch strings.ToUpper(r.Status) {
		case "", "SUCCESS":
			return delivered
		case "RETRY":
			return retry
		case "DROP":
			d.a.log.Warn("pubsub: DROP status returned from app while processing the event", "topic", d.s.Topic)
			return dropped
		}
		return retry
	case status == 404:
		d.a.log.Error(fmt.Sprintf("pubsub: non-retriable error returned from app while processing the event: %s. status code returned: %d", body, status), "topic", d.s.Topic)
		return notFound
	}
	return retry
}

// expired is daprd's HasExpired.
func expired(ev map[string]any) bool {
	s, ok := ev["expiration"].(string)
	if !ok || s == "" {
		return false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return false
	}
	return t.Before(time.Now())
}

// appendFromRawPayload is daprd's FromRawPayload: a raw message wrapped in a
// CloudEvent with data_base64 on the subscriber's side.
func appendFromRawPayload(dst, data []byte, topic, pubsub string) []byte {
	ev := Event{Source: DefaultEventSource, Topic: []byte(topic), Pubsub: []byte(pubsub), ContentType: []byte("application/octet-stream"), Data: data}
	dst = append(dst, `{"data_base64":"`...)
	dst = appendBase64(dst, ev.Data)
	dst = append(dst, `","datacontenttype":"application/octet-stream","id":"`...)
	dst = AppendUUID(dst)
	dst = append(dst, `","pubsubname":`...)
	dst = apierr.AppendJSONString(dst, pubsub)
	dst = append(dst, `,"source":"Dapr","specversion":"1.0","topic":`...)
	dst = apierr.AppendJSONString(dst, topic)
	return append(dst, `,"type":"com.dapr.event.sent"}`...)
}

type bulkReq struct{ r appchannel.Request }

func (b *bulkReq) init(path string, body []byte) {
	b.r.Method = []byte("POST")
	b.r.Path = routePath(path)
	b.r.Body = body
	b.r.AddHeaderString("Content-Type", "application/json")
}

// roundTrip sends req and returns the status and whole body.
func (d *deliverer) roundTrip(ctx context.Context, req *bulkReq) (int, []byte, error) {
	if d.app == nil {
		return 0, nil, errNoApp
	}
	var resp appchannel.Response
	if err := d.app.Do(ctx, &req.r, &resp); err != nil {
		return 0, nil, err
	}
	rb, err := readBody(&resp)
	resp.Close()
	return resp.Status, rb, err
}

// publishedRaw reports whether msg was published with rawPayload=true (its
// bytes are the app's, not an envelope this block built).
func publishedRaw(msg *Message) bool {
	raw, err := RawPayload(msg.Metadata)
	return raw || err != nil
}

// traceParentOf finds the event's traceparent, which daprd sends to the app
// as a header too; nil when absent or not a plain W3C value.
func traceParentOf(body []byte) []byte {
	const key = `"traceparent":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return nil
	}
	v := body[i+len(key):]
	end := bytes.IndexByte(v, '"')
	if end != 55 || !validTraceParent(v[:end]) {
		return nil
	}
	return v[:end]
}
