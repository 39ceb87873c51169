package pubsub

import (
	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// The HTTP adapter: daprd 1.18's publish routes. Handlers are Inline; a
// component whose publish may wait moves the exchange to the worker pool
// with Offload before anything is read.

var postPut = []http1.Method{http1.MethodPost, http1.MethodPut}

// Routes returns the pub/sub routes.
func (a *API) Routes() []router.Route {
	pub := a.inlineOrOffload(a.servePublish)
	bulk := func(c *router.Ctx) { c.Offload(a.serveBulk) }
	empty, noName := router.Handler(a.serveEmptyTopic), router.Handler(a.serveNoName)
	var routes []router.Route
	for _, p := range []string{"/v1.0/publish"} {
		routes = append(routes, // one prefix; a loop keeps the rows alike

			router.Route{Name: "pubsub.publish", Methods: postPut, Pattern: p + "/{pubsubname}/{topic*}", Mode: router.Inline, Handler: pub},
			router.Route{Name: "pubsub.publish", Methods: postPut, Pattern: p + "/{pubsubname}/", Mode: router.Inline, Handler: empty},
			router.Route{Name: "pubsub.publish", Methods: postPut, Pattern: p + "//{topic*}", Mode: router.Inline, Handler: noName},
		)
	}
	for _, p := range []string{"/v1.0/publish/bulk", "/v1.0-alpha1/publish/bulk"} {
		routes = append(routes,
			router.Route{Name: "pubsub.bulkpublish", Methods: postPut, Pattern: p + "/{pubsubname}/{topic*}", Mode: router.Inline, Handler: bulk},
			router.Route{Name: "pubsub.bulkpublish", Methods: postPut, Pattern: p + "/{pubsubname}/", Mode: router.Inline, Handler: empty},
			router.Route{Name: "pubsub.bulkpublish", Methods: postPut, Pattern: p + "//{topic*}", Mode: router.Inline, Handler: noName},
		)
	}
	return routes
}

// inlineOrOffload runs serve on the loop when the named component's publish
// never waits, publishes asynchronously from the loop when the component
// can (AsyncPublisher), and runs serve on the worker pool otherwise.
func (a *API) inlineOrOffload(serve router.Handler) router.Handler {
	return func(c *router.Ctx) {
		if comp := a.Lookup(c.ParamDecoded(0)); comp != nil && !comp.InlineSafe() {
			if comp.async != nil && c.CanSuspend() {
				a.servePublishWith(c, true)
				return
			}
			c.Offload(serve)
			return
		}
		serve(c)
	}
}

func answer(c *router.Ctx, f *Failure) {
	c.Error(f.Err, f.Msg)
}

// validate is daprd's validateAndGetPubsubAndTopic.
func (a *API) validate(c *router.Ctx) (*Component, []byte, *Failure) {
	name := c.ParamDecoded(0)
	if len(name) == 0 {
		return nil, nil, &Failure{apierr.PubsubEmpty, "pubsub name is empty"}
	}
	comp := a.Lookup(name)
	if comp == nil {
		return nil, nil, failf(apierr.PubsubNotFound, "pubsub %s not found", name)
	}
	var topic []byte
	if c.NumParams() > 1 {
		topic = c.ParamDecoded(1)
	}
	if len(topic) == 0 {
		return nil, nil, failf(apierr.TopicEmpty, "topic is empty in pubsub %s", name)
	}
	return comp, topic, nil
}

// serveEmptyTopic answers "…/{pubsubname}/" (no topic); serveNoName
// answers "…//{topic}" (no pubsub name).
func (a *API) serveEmptyTopic(c *router.Ctx) {
	if _, _, f := a.validate(c); f != nil {
		answer(c, f)
	}
}

func (a *API) serveNoName(c *router.Ctx) {
	answer(c, &Failure{apierr.PubsubEmpty, "pubsub name is empty"})
}

func (a *API) servePublish(c *router.Ctx) { a.servePublishWith(c, false) }

// servePublishWith reads a publish request and publishes it, through the
// component's AsyncPublisher when async.
func (a *API) servePublishWith(c *router.Ctx, async bool) {
	comp, topic, f := a.validate(c)
	if f != nil {
		answer(c, f)
		return
	}
	in := PublishInput{
		Topic:       topic,
		ContentType: c.Req.Header("Content-Type"),
		Body:        c.Body,
		Metadata:    queryMetadata(c.Req.Query()),
		TraceParent: c.Req.Header("traceparent"),
		TraceState:  c.Req.Header("tracestate"),
	}
	if len(c.Trace) > 0 {
		in.TraceParent, in.TraceExact = c.Trace, true
	}
	if async {
		a.publishAsync(c, comp, &in)
		return
	}
	if f := a.Publish(c.Context(), comp, &in); f != nil {
		answer(c, f)
		return
	}
	c.SetStatus(204)
}

func (a *API) serveBulk(c *router.Ctx) {
	comp, topic, f := a.validate(c)
	if f != nil {
		answer(c, f)
		return
	}
	md := queryMetadata(c.Req.Query())
	if _, err := RawPayload(md); err != nil {
		answer(c, failf(apierr.PubsubRequestMetadata, "failed deserializing metadata. Error: %s", err))
		return
	}
	entries, f := ParseBulkPublish(c.Body, string(topic), comp.Name, md)
	if f != nil {
		answer(c, f)
		return
	}
	entryTrace, ends := a.bulkSpans(c, len(entries), md)
	if ends != nil {
		defer func() {
			for _, end := range ends {
				end(c.StatusCode())
			}
		}()
	}
	failed, f := a.BulkPublish(c.Context(), comp, topic, entries, md, c.Req.Header("traceparent"), c.Req.Header("tracestate"), entryTrace)
	if f != nil {
		answer(c, f)
		return
	}
	if len(failed) == 0 {
		c.SetStatus(204)
		return
	}
	// daprd answers 500 with the failed entries, and repeats them in
	// metadata.* headers.
	c.RespBody = AppendBulkFailure(c.RespBody[:0], failed)
	// daprd counts this answer's errorCode in its error-code metric too
	// (respondWithDataAndRecordError).
	apierr.Record(apierr.PubsubPublishMessage.Code)
	c.SetHeaderBytes("metadata.responseData", c.RespBody)
	c.SetHeader("metadata.error", "error when publishing to topic "+string(topic)+" in pubsub "+comp.Name+": "+failed[0].Err.Error())
	c.JSON(500)
}

// queryMetadata collects metadata.* query parameters (first value of
// each), as daprd's getMetadataFromRequest; nil when there are none.
func queryMetadata(q []byte) map[string]string {
	if len(q) == 0 {
		return nil
	}
	var md map[string]string
	var buf []byte
	for len(q) > 0 {
		pair := q
		if i := indexByte(q, '&'); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			q = nil
		}
		if len(pair) < len("metadata.") || indexByte(pair, ';') >= 0 {
			continue
		}
		k, v := pair, []byte(nil)
		if i := indexByte(pair, '='); i >= 0 {
			k, v = pair[:i], pair[i+1:]
		}
		var ok bool
		buf, ok = http1.AppendUnescape(buf[:0], k, true)
		if !ok || len(buf) <= len("metadata.") || string(buf[:len("metadata.")]) != "metadata." {
			continue
		}
		kl := len(buf)
		buf, ok = http1.AppendUnescape(buf, v, true)
		if !ok {
			continue
		}
		if md == nil {
			md = map[string]string{}
		}
		key := string(buf[len("metadata."):kl])
		if _, dup := md[key]; !dup {
			md[key] = string(buf[kl:])
		}
	}
	return md
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// bulkSpans starts the producer span of each entry of a bulk publish when
// tracing is on (c.Trace set) and the entries are wrapped in CloudEvents,
// as daprd does; nil otherwise, at no cost.
func (a *API) bulkSpans(c *router.Ctx, n int, md map[string]string) ([][]byte, []func(int)) {
	if len(c.Trace) == 0 || n == 0 {
		return nil, nil
	}
	pt, ok := a.tracer.(ProducerTracer)
	if !ok {
		return nil, nil
	}
	if raw, _ := RawPayload(md); raw {
		return nil, nil
	}
	name := string(c.Req.Path())
	ts := c.Req.Header("tracestate")
	tps := make([][]byte, n)
	ends := make([]func(int), n)
	for i := range tps {
		tps[i], ends[i] = pt.StartProducer(name, c.Trace, ts)
	}
	return tps, ends
}
