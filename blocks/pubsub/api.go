package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/router"
)

// Entry is one configured pub/sub component.
type Entry struct {
	Name      string
	Type      string
	Component PubSub
	// Metadata is the component's metadata; the block reads the scoping
	// keys publishingScopes, subscriptionScopes, allowedTopics and
	// protectedTopics from it.
	Metadata map[string]string
}

// Config is what the block needs from the runtime.
type Config struct {
	AppID string
	Log   *slog.Logger
	// Tracer, when set (tracing on), traces each delivery to the app.
	Tracer DeliveryTracer
}

// DeliveryTracer starts the span of one delivery under the event's
// traceparent; it returns the traceparent to send to the app and the
// function that ends the span (err nil: the app took the event).
type DeliveryTracer interface {
	StartDelivery(ctx context.Context, topic string, traceparent, tracestate []byte) ([]byte, func(err error))
}

// ProducerTracer, when the DeliveryTracer also is one, gives each entry of
// a bulk publish its own span (daprd's producer span, named by the
// request's path, a child of the API span parent): the entry's CloudEvent
// carries its traceparent; end takes the request's HTTP status.
type ProducerTracer interface {
	StartProducer(name string, parent, tracestate []byte) (traceparent []byte, end func(status int))
}

// API is the pub/sub block: publishing, scoping, and (subscribe.go,
// deliver.go) subscriptions and delivery to the app.
type API struct {
	appID string
	log   *slog.Logger
	comps map[string]*Component

	topicMu sync.RWMutex
	topics  map[string]string // interned topic names

	subsMu sync.Mutex
	subs   []*Subscription // active, for the metadata API

	tracer DeliveryTracer
}

// Component is a configured component with its scoping rules.
type Component struct {
	Name     string
	nameB    []byte
	Type     string
	PS       PubSub
	inline   bool
	features Features
	bulk     BulkPublisher
	async    AsyncPublisher  // nil: Publish on the worker pool (or inline)
	obs      IngressObserver // nil: deliveries are not observed (no clock reads)

	allowed, protected  []string
	pubScoped, subScope []string
}

// New builds the block over entries.
func New(cfg Config, entries []Entry) (*API, error) {
	a := &API{appID: cfg.AppID, log: cfg.Log, comps: map[string]*Component{}, topics: map[string]string{}, tracer: cfg.Tracer}
	if a.log == nil {
		a.log = slog.Default()
	}
	for _, e := range entries {
		if _, dup := a.comps[e.Name]; dup {
			return nil, fmt.Errorf("pubsub: component %s defined twice", e.Name)
		}
		c := &Component{Name: e.Name, nameB: []byte(e.Name), Type: e.Type, PS: e.Component, features: e.Component.Features()}
		if ip, ok := e.Component.(InlinePublisher); ok {
			c.inline = ip.InlineSafe()
		}
		c.bulk, _ = e.Component.(BulkPublisher)
		if ap, ok := e.Component.(AsyncPublisher); ok && ap.AsyncPublishes() && !c.inline {
			c.async = ap
		}
		c.obs, _ = e.Component.(IngressObserver)
		c.allowed = topicList(e.Metadata["allowedTopics"])
		c.protected = topicList(e.Metadata["protectedTopics"])
		c.pubScoped = scopedTopics(e.Metadata["publishingScopes"], cfg.AppID)
		c.subScope = scopedTopics(e.Metadata["subscriptionScopes"], cfg.AppID)
		a.comps[e.Name] = c
	}
	return a, nil
}

// Lookup finds a component by name without allocating.
func (a *API) Lookup(name []byte) *Component { return a.comps[string(name)] }

// Len is the number of pub/sub components.
func (a *API) Len() int { return len(a.comps) }

// Close releases nothing itself: the components are closed by their owner.
func (a *API) Close() error { return nil }

// intern returns a string for topic, shared across messages, without
// allocating for a topic seen before (bounded, so that clients cannot grow
// it without limit).
func (a *API) intern(topic []byte) string {
	a.topicMu.RLock()
	s, ok := a.topics[string(topic)]
	a.topicMu.RUnlock()
	if ok {
		return s
	}
	s = string(topic)
	a.topicMu.Lock()
	if len(a.topics) < 4096 {
		a.topics[s] = s
	}
	a.topicMu.Unlock()
	return s
}

func topicList(v string) []string {
	v = strings.ReplaceAll(v, " ", "")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// scopedTopics is daprd's GetScopedTopics: "app1=t1,t2;app2=t3" gives the
// topics listed for appID (deduplicated), or none.
func scopedTopics(v, appID string) []string {
	v = strings.ReplaceAll(v, " ", "")
	if v == "" {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, app := range strings.Split(v, ";") {
		kv := strings.Split(app, "=")
		if kv[0] != appID || len(kv) == 1 {
			continue
		}
		for _, t := range strings.Split(kv[1], ",") {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// allowed is daprd's IsOperationAllowed: granular scopes for this app win;
// without them allowedTopics and protectedTopics decide.
func (c *Component) allowedFor(topic string, scoped []string) bool {
	if len(c.allowed) > 0 && !contains(c.allowed, topic) && len(scoped) == 0 {
		return false
	}
	if len(c.protected) > 0 && contains(c.protected, topic) && len(scoped) == 0 {
		return false
	}
	if len(scoped) == 0 {
		return true
	}
	return contains(scoped, topic)
}

// PublishAllowed reports whether this app may publish to topic.
func (c *Component) PublishAllowed(topic string) bool { return c.allowedFor(topic, c.pubScoped) }

// SubscribeAllowed reports whether this app may subscribe to topic.
func (c *Component) SubscribeAllowed(topic string) bool { return c.allowedFor(topic, c.subScope) }

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// Failure is an error answer: the Dapr error and its message.
type Failure struct {
	Err *apierr.Error
	Msg string
}

func failf(e *apierr.Error, format string, args ...any) *Failure {
	return &Failure{Err: e, Msg: fmt.Sprintf(format, args...)}
}

// PublishInput is one publish request. Byte slices are views valid for the
// duration of Publish.
type PublishInput struct {
	Topic       []byte
	ContentType []byte
	Body        []byte
	Metadata    map[string]string
	TraceParent []byte // the request's traceparent header, if any
	TraceState  []byte
	// TraceExact puts TraceParent in the event as it is: the API span's
	// own traceparent when tracing is on (no child id is made up).
	TraceExact bool
}

// RawPayload reads metadata rawPayload as daprd's IsRawPayload does.
func RawPayload(md map[string]string) (bool, error) {
	v, ok := md["rawPayload"]
	if !ok || v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("rawPayload value must be a valid boolean: actual is '%s'", v)
	}
	return b, nil
}

// Publish wraps the body as daprd does and hands it to c. It may run on an
// event loop only when c.InlineSafe().
func (a *API) Publish(ctx context.Context, c *Component, in *PublishInput) *Failure {
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	req, f := a.prepare(sc, c, in)
	if f != nil {
		return f
	}
	if err := c.PS.Publish(ctx, req); err != nil {
		return publishFailure(c, req.Topic, err)
	}
	return nil
}

func publishFailure(c *Component, topic string, err error) *Failure {
	return failf(apierr.PubsubPublishMessage, "error when publishing to topic %s in pubsub %s: %s", topic, c.Name, err)
}

// prepare builds the message to publish in sc (the envelope, scoping
// checked); the request it returns lives in sc.
func (a *API) prepare(sc *scratch, c *Component, in *PublishInput) (*PublishRequest, *Failure) {
	raw, err := RawPayload(in.Metadata)
	if err != nil {
		return nil, failf(apierr.PubsubRequestMetadata, "failed deserializing metadata. Error: %s", err)
	}
	var data, id []byte
	if raw {
		data = append([]byte(nil), in.Body...)
	} else {
		var f *Failure
		var span [2]int
		sc.buf, span, f = a.envelope(sc.buf[:0], &sc.tp, c, in)
		if f != nil {
			return nil, f
		}
		data = append(make([]byte, 0, len(sc.buf)), sc.buf...)
		if span[1] > span[0] {
			id = data[span[0]:span[1]:span[1]]
		}
	}
	topic := a.intern(in.Topic)
	if !c.PublishAllowed(topic) {
		return nil, failf(apierr.PubsubForbidden, "topic %s is not allowed for app id %s", topic, a.appID)
	}
	// The request lives in the pooled scratch: components must not keep
	// the pointer (they own Data, not the request).
	req := &sc.req
	*req = PublishRequest{Topic: topic, Data: data, Metadata: in.Metadata, EventID: id}
	if len(in.ContentType) > 0 {
		req.ContentType = a.intern(in.ContentType)
	}
	return req, nil
}

// publishAsync publishes through an AsyncPublisher and suspends the
// exchange; the component's completion answers it. Everything the
// component keeps was copied out of the request by prepare.
func (a *API) publishAsync(c *router.Ctx, comp *Component, in *PublishInput) {
	sc := scratchPool.Get().(*scratch)
	req, f := a.prepare(sc, comp, in)
	if f != nil {
		sc.release()
		answer(c, f)
		return
	}
	p := newPendingPub()
	p.c, p.comp, p.topic = c, comp, req.Topic
	p.resume = c.Suspend()
	comp.async.PublishAsync(req, p.fn)
	sc.release()
}

// pendingPub is a suspended publish: pooled, its completion bound once.
type pendingPub struct {
	c      *router.Ctx
	comp   *Component
	topic  string
	resume func()
	fn     func(error) // p.complete
}

// pendingPubPool has no New: the method value would refer back to the
// pool (an initialisation cycle); newPendingPub binds it.
var pendingPubPool sync.Pool

func newPendingPub() *pendingPub {
	if p, ok := pendingPubPool.Get().(*pendingPub); ok {
		return p
	}
	p := &pendingPub{}
	p.fn = p.complete
	return p
}

func (p *pendingPub) complete(err error) {
	c, comp, topic, resume := p.c, p.comp, p.topic, p.resume
	*p = pendingPub{fn: p.fn}
	pendingPubPool.Put(p)
	if err != nil {
		answer(c, publishFailure(comp, topic, err))
	} else {
		c.SetStatus(204)
	}
	resume()
}

// scratch is a publish's pooled working memory.
type scratch struct {
	buf []byte
	tp  [55]byte
	req PublishRequest
}

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 1024)} }}

func (s *scratch) release() {
	s.req = PublishRequest{}
	if cap(s.buf) > 1<<16 {
		s.buf = make([]byte, 0, 1024)
	}
	scratchPool.Put(s)
}

// envelope appends the publish's CloudEvent to dst; idSpan says where its
// id lies (see Event.IDSpan).
func (a *API) envelope(dst []byte, tpBuf *[55]byte, c *Component, in *PublishInput) (out []byte, idSpan [2]int, f *Failure) {
	tp := in.TraceParent
	if !in.TraceExact {
		tp = AppendTraceParent(tpBuf[:0], in.TraceParent)
	}
	ev := Event{
		Source:      a.appID,
		Topic:       in.Topic,
		Pubsub:      c.nameB,
		ContentType: in.ContentType,
		Data:        in.Body,
		TraceParent: tp,
		TraceState:  in.TraceState,
		Metadata:    in.Metadata,
		Now:         time.Now(),
	}
	out, err := AppendEnvelope(dst, &ev, c.features)
	if err != nil {
		return out, [2]int{}, failf(apierr.PubsubCloudEventsSer, "cannot create cloudevent")
	}
	return out, ev.IDSpan, nil
}

// InlineSafe reports whether publishing to c never waits.
func (c *Component) InlineSafe() bool { return c.inline }

// errMismatch is daprd's ConvertEventToBytes error.
var errMismatch = errors.New("error: mismatch between contentType and event")
