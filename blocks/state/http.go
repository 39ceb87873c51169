package state

import (
	"sort"
	"sync"
	"time"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// The HTTP adapter: daprd 1.18's state routes on the router. Handlers are
// Inline; a store that may block moves the exchange to the worker pool with
// Offload before anything else happens.

var postPut = []http1.Method{http1.MethodPost, http1.MethodPut}

// handler builds an Inline handler from serve: serve runs on the loop, and
// when the store may block it is handed to the worker pool (serve then gets a
// nil slow continuation, meaning "already off the loop"). fixed, when not
// empty, is the key segment of a route that spells it literally.
func handler(fixed string, serve func(c *router.Ctx, fixed string, slow router.Handler)) router.Handler {
	slow := func(c *router.Ctx) { serve(c, fixed, nil) }
	return func(c *router.Ctx) { serve(c, fixed, slow) }
}

// Routes returns the state routes for the endpoint table.
func (a *API) Routes() []router.Route {
	get := []http1.Method{http1.MethodGet}
	del := []http1.Method{http1.MethodDelete}
	return []router.Route{
		{Name: "state.get", Methods: get, Pattern: "/v1.0/state/{storeName}/{key}", Mode: router.Inline, Handler: handler("", a.serveGet)},
		{Name: "state.delete", Methods: del, Pattern: "/v1.0/state/{storeName}/{key}", Mode: router.Inline, Handler: handler("", a.serveDelete)},
		{Name: "state.save", Methods: postPut, Pattern: "/v1.0/state/{storeName}", Mode: router.Inline, Handler: handler("", a.serveSave)},
		{Name: "state.bulk", Methods: postPut, Pattern: "/v1.0/state/{storeName}/bulk", Mode: router.Inline, Handler: handler("", a.serveBulk)},
		{Name: "state.transaction", Methods: postPut, Pattern: "/v1.0/state/{storeName}/transaction", Mode: router.Inline, Handler: handler("", a.serveTransaction)},
		{Name: "state.query", Methods: postPut, Pattern: "/v1.0-alpha1/state/{storeName}/query", Mode: router.Inline, Handler: handler("", a.serveQuery)},
		// The router stops at a static segment and answers 405 when its
		// method is missing; daprd's chi falls back to {key}. These rows
		// serve the keys "bulk" and "transaction" as daprd does.
		{Name: "state.get", Methods: get, Pattern: "/v1.0/state/{storeName}/bulk", Mode: router.Inline, Handler: handler("bulk", a.serveGet)},
		{Name: "state.get", Methods: get, Pattern: "/v1.0/state/{storeName}/transaction", Mode: router.Inline, Handler: handler("transaction", a.serveGet)},
		{Name: "state.delete", Methods: del, Pattern: "/v1.0/state/{storeName}/bulk", Mode: router.Inline, Handler: handler("bulk", a.serveDelete)},
		{Name: "state.delete", Methods: del, Pattern: "/v1.0/state/{storeName}/transaction", Mode: router.Inline, Handler: handler("transaction", a.serveDelete)},
	}
}

func fail(c *router.Ctx, e *Error) {
	apierr.Record(e.Code) // dapr_error_code_total
	c.RespBody = e.AppendJSON(c.RespBody[:0])
	c.JSON(e.Status)
}

// params returns the store name and key as daprd's router (chi) hands them
// over: percent-decoded when the request path is in Go's canonical escaping,
// raw otherwise (net/url keeps RawPath then, and chi routes on it).
func params(c *router.Ctx, fixed string) (store, key []byte) {
	canonical := pathCanonical(c)
	get := func(i int) []byte {
		if canonical {
			return c.ParamDecoded(i)
		}
		return c.Param(i)
	}
	store = get(0)
	if fixed != "" {
		return store, []byte(fixed)
	}
	if c.NumParams() > 1 {
		key = get(1)
	}
	return store, key
}

func hasPercent(b []byte) bool {
	for _, ch := range b {
		if ch == '%' {
			return true
		}
	}
	return false
}

// pathCanonical reports whether escaping the decoded path reproduces it.
func pathCanonical(c *router.Ctx) bool {
	p := c.Req.Path()
	if !hasPercent(p) {
		return true
	}
	mark := len(c.Scratch)
	defer func() { c.Scratch = c.Scratch[:mark] }()
	dec, ok := http1.AppendUnescape(c.Scratch, p, false)
	if !ok {
		c.Scratch = dec[:mark]
		return false
	}
	c.Scratch = dec
	decoded := dec[mark:]
	i := 0
	for _, ch := range decoded {
		if shouldEscapePath(ch) {
			if i+3 > len(p) || p[i] != '%' || p[i+1] != upperHex[ch>>4] || p[i+2] != upperHex[ch&15] {
				return false
			}
			i += 3
			continue
		}
		if i >= len(p) || p[i] != ch {
			return false
		}
		i++
	}
	return i == len(p)
}

const upperHex = "0123456789ABCDEF"

// shouldEscapePath is net/url's shouldEscape(c, encodePath).
func shouldEscapePath(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return false
	}
	switch c {
	case '-', '_', '.', '~', '$', '&', '+', ',', '/', ':', ';', '=', '@':
		return false
	}
	return true
}

// eachQuery walks the query string like net/url.ParseQuery: pairs split on
// '&', pairs containing ';' or bad escapes skipped, '+' is a space. fn gets
// decoded views valid until the next call.
func eachQuery(q []byte, buf *[]byte, fn func(key, value []byte)) {
	for len(q) > 0 {
		pair := q
		if i := indexByte(q, '&'); i >= 0 {
			pair, q = q[:i], q[i+1:]
		} else {
			q = nil
		}
		if len(pair) == 0 || indexByte(pair, ';') >= 0 {
			continue
		}
		k, v := pair, []byte(nil)
		if i := indexByte(pair, '='); i >= 0 {
			k, v = pair[:i], pair[i+1:]
		}
		b := (*buf)[:0]
		b, ok := http1.AppendUnescape(b, k, true)
		if !ok {
			continue
		}
		kl := len(b)
		b, ok = http1.AppendUnescape(b, v, true)
		*buf = b
		if !ok {
			continue
		}
		fn(b[:kl], b[kl:])
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// queryParams extracts daprd's inputs from the query: metadata.* (first
// value of each) and the first consistency and concurrency values.
func queryParams(c *router.Ctx) (md map[string]string, consistency, concurrency string) {
	q := c.Req.Query()
	if len(q) == 0 {
		return nil, "", ""
	}
	var buf []byte
	var haveCons, haveConc bool
	eachQuery(q, &buf, func(k, v []byte) {
		switch {
		case len(k) > len("metadata.") && string(k[:len("metadata.")]) == "metadata.":
			if md == nil {
				md = map[string]string{}
			}
			if _, dup := md[string(k[len("metadata."):])]; !dup {
				md[string(k[len("metadata."):])] = string(v)
			}
		case string(k) == "consistency" && !haveCons:
			consistency, haveCons = intern(v), true
		case string(k) == "concurrency" && !haveConc:
			concurrency, haveConc = intern(v), true
		}
	})
	return md, consistency, concurrency
}

// route looks the store up and reports whether the handler may continue
// here; otherwise it has answered, or moved the exchange to the worker pool.
func (a *API) route(c *router.Ctx, store []byte, slow router.Handler) (*entry, bool) {
	e, aerr := a.lookup(store)
	if aerr != nil {
		fail(c, aerr)
		return nil, false
	}
	if !e.inline && slow != nil {
		c.Offload(slow)
		return nil, false
	}
	return e, true
}

func (a *API) serveGet(c *router.Ctx, fixed string, slow router.Handler) {
	store, key := params(c, fixed)
	if slow != nil && c.CanSuspend() && len(c.Req.Query()) == 0 {
		// A backend store that batches reads answers from its own
		// goroutine: no worker hand-off per request.
		if e, _ := a.lookup(store); e != nil && e.async != nil {
			a.asyncGet(c, e, key)
			return
		}
	}
	e, ok := a.route(c, store, slow)
	if !ok {
		return
	}
	if e.fast != nil {
		a.fastGet(c, e, key)
		return
	}
	md, consistency, _ := queryParams(c)
	resp, aerr := e.get(c.Context(), string(key), consistency, md)
	if aerr != nil {
		fail(c, aerr)
		return
	}
	answerGet(c, resp)
}

// asyncGet starts a read on an AsyncGetter and suspends the exchange; the
// store's completion writes the answer and resumes it. The stored key is a
// new string: c's views die when this returns.
func (a *API) asyncGet(c *router.Ctx, e *entry, key []byte) {
	if hasSeparator(key) {
		fail(c, errInvalidKey(e.name, string(key)))
		return
	}
	mark := len(c.Scratch)
	c.Scratch = e.appendKey(c.Scratch, key)
	sk := string(c.Scratch[mark:])
	c.Scratch = c.Scratch[:mark]
	p := newPendingGet()
	p.c, p.e, p.key = c, e, sk
	p.resume = c.Suspend()
	e.async.GetAsync(sk, p.fn)
}

// pendingGet is a suspended GET waiting for its store: pooled, with its
// completion bound once, so that starting a read allocates only its key.
type pendingGet struct {
	c      *router.Ctx
	e      *entry
	key    string // stored key
	resume func()
	fn     func(GetResponse, error) // p.complete, bound once
}

// pendingGetPool has no New: the method value it would bind refers back to
// the pool (an initialisation cycle); newPendingGet does that instead.
var pendingGetPool sync.Pool

func newPendingGet() *pendingGet {
	if p, ok := pendingGetPool.Get().(*pendingGet); ok {
		return p
	}
	p := &pendingGet{}
	p.fn = p.complete
	return p
}

func (p *pendingGet) complete(resp GetResponse, err error) {
	c, e, key, resume := p.c, p.e, p.key, p.resume
	p.c, p.e, p.key, p.resume = nil, nil, "", nil
	pendingGetPool.Put(p)
	if err != nil {
		fail(c, e.getError(key[len(e.prefix):], err))
	} else {
		answerGet(c, resp)
	}
	resume()
}

// answerGet writes a store's answer to a GET as daprd does.
func answerGet(c *router.Ctx, resp GetResponse) {
	if !resp.Found || resp.Data == nil {
		c.SetStatus(204)
		return
	}
	c.SetHeader("Content-Type", "application/json")
	if resp.ETag != "" {
		c.SetHeader("Etag", resp.ETag)
	}
	if len(resp.Metadata) > 0 {
		keys := make([]string, 0, len(resp.Metadata))
		for k := range resp.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.SetHeader(canonicalHeader("metadata."+k), resp.Metadata[k])
		}
	}
	c.RespBody = append(c.RespBody[:0], resp.Data...)
	c.SetStatus(200)
}

// fastGet serves a GET from a FastGetter without allocating.
func (a *API) fastGet(c *router.Ctx, e *entry, key []byte) {
	if hasSeparator(key) {
		fail(c, errInvalidKey(e.name, string(key)))
		return
	}
	mark := len(c.Scratch)
	c.Scratch = e.appendKey(c.Scratch, key)
	full := c.Scratch[mark:]
	body, info, found := e.fast.AppendGet(c.RespBody[:0], full)
	c.RespBody = body
	if !found {
		c.RespBody = c.RespBody[:0]
		c.SetStatus(204)
		return
	}
	c.SetHeader("Content-Type", "application/json")
	if len(info.ETag) > 0 {
		c.SetHeaderBytes("Etag", info.ETag)
	}
	if info.Expire != 0 {
		mark = len(c.Scratch)
		c.Scratch = time.Unix(0, info.Expire).UTC().AppendFormat(c.Scratch, time.RFC3339)
		c.SetHeaderBytes("Metadata.ttlexpiretime", c.Scratch[mark:])
	}
	c.SetStatus(200)
}

// canonicalHeader is textproto.CanonicalMIMEHeaderKey for the header names
// daprd sets from metadata (net/http writes them canonicalised).
func canonicalHeader(s string) string {
	b := []byte(s)
	upper := true
	for i, ch := range b {
		if upper && 'a' <= ch && ch <= 'z' {
			b[i] = ch - 'a' + 'A'
		} else if !upper && 'A' <= ch && ch <= 'Z' {
			b[i] = ch - 'A' + 'a'
		}
		upper = ch == '-'
	}
	return string(b)
}

func (a *API) serveDelete(c *router.Ctx, fixed string, slow router.Handler) {
	store, key := params(c, fixed)
	e, ok := a.route(c, store, slow)
	if !ok {
		return
	}
	md, consistency, concurrency := queryParams(c)
	var etag *string
	if v := c.Req.Header("If-Match"); v != nil {
		s := string(v)
		etag = &s
	}
	if aerr := e.delete(c.Context(), string(key), etag, Options{Concurrency: concurrency, Consistency: consistency}, md); aerr != nil {
		fail(c, aerr)
		return
	}
	c.SetStatus(204)
}

// savePool recycles the request slices of save bodies.
var savePool = sync.Pool{New: func() any { s := make([]SetRequest, 0, 8); return &s }}

func (a *API) serveSave(c *router.Ctx, fixed string, slow router.Handler) {
	store, _ := params(c, fixed)
	e, ok := a.route(c, store, slow)
	if !ok {
		return
	}
	sp := savePool.Get().(*[]SetRequest)
	defer func() {
		clear((*sp)[:cap(*sp)])
		*sp = (*sp)[:0]
		savePool.Put(sp)
	}()
	reqs, err := parseSave(c.Body, *sp)
	*sp = reqs
	if err != nil {
		fail(c, errMalformed(err.Error()))
		return
	}
	if len(reqs) == 0 {
		c.SetStatus(204)
		return
	}
	md, _, _ := queryParams(c)
	if aerr := e.save(c.Context(), reqs, md); aerr != nil {
		fail(c, aerr)
		return
	}
	c.SetStatus(204)
}

func (a *API) serveBulk(c *router.Ctx, fixed string, slow router.Handler) {
	store, _ := params(c, fixed)
	e, ok := a.route(c, store, slow)
	if !ok {
		return
	}
	keys, parallelism, bodyMD, err := parseBulk(c.Body)
	if err != nil {
		fail(c, errBodyDecode(err))
		return
	}
	md, _, _ := queryParams(c)
	bodyMD = mergeMD(bodyMD, md)
	items, aerr := e.bulkGet(c.Context(), keys, parallelism, bodyMD)
	if aerr != nil {
		fail(c, aerr)
		return
	}
	c.RespBody = appendBulkItems(c.RespBody[:0], items)
	c.JSON(200)
}

// appendBulkItems encodes daprd's []BulkGetResponse with json.Encoder
// (omitempty fields, HTML escaping, trailing newline).
func appendBulkItems(dst []byte, items []BulkGetItem) []byte {
	dst = append(dst, '[')
	for i := range items {
		it := &items[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":`...)
		dst = apierr.AppendJSONString(dst, it.Key)
		if it.Error == "" && it.Found {
			if len(it.Data) > 0 {
				dst = append(dst, `,"data":`...)
				dst = appendRawJSON(dst, it.Data)
			}
			if it.ETag != "" {
				dst = append(dst, `,"etag":`...)
				dst = apierr.AppendJSONString(dst, it.ETag)
			}
			if len(it.Metadata) > 0 {
				dst = append(dst, `,"metadata":`...)
				dst = appendStringMap(dst, it.Metadata)
			}
		}
		if it.Error != "" {
			dst = append(dst, `,"error":`...)
			dst = apierr.AppendJSONString(dst, it.Error)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']', '\n')
}

func appendStringMap(dst []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = apierr.AppendJSONString(dst, k)
		dst = append(dst, ':')
		dst = apierr.AppendJSONString(dst, m[k])
	}
	return append(dst, '}')
}

func (a *API) serveTransaction(c *router.Ctx, fixed string, slow router.Handler) {
	store, _ := params(c, fixed)
	e, ok := a.route(c, store, slow)
	if !ok {
		return
	}
	if e.tx == nil {
		fail(c, errTransactionsNotSupported(e.name))
		return
	}
	raw, bodyMD, err := parseTransaction(c.Body)
	if err != nil {
		fail(c, errBodyDecode(err))
		return
	}
	if len(raw) == 0 {
		c.SetStatus(204)
		return
	}
	ops := make([]Operation, len(raw))
	for i, op := range raw {
		switch op.operation {
		case "upsert":
			r, err := decodeTxSet(op)
			if err != nil {
				fail(c, errBodyDecode(err))
				return
			}
			ops[i].Set = r
		case "delete":
			r, err := decodeTxDelete(op)
			if err != nil {
				fail(c, errBodyDecode(err))
				return
			}
			ops[i].Delete = r
		default:
			fail(c, legacy(400, codeNotSupportedOp, "operation type "+op.operation+" not supported"))
			return
		}
	}
	md, _, _ := queryParams(c)
	if md == nil {
		md = map[string]string{} // daprd always has a (possibly empty) query map
	}
	if aerr := e.transact(c.Context(), ops, bodyMD, md); aerr != nil {
		fail(c, aerr)
		return
	}
	c.SetStatus(204)
}

func (a *API) serveQuery(c *router.Ctx, fixed string, slow router.Handler) {
	store, _ := params(c, fixed)
	e, ok := a.route(c, store, slow)
	if !ok {
		return
	}
	md, _, _ := queryParams(c)
	resp, aerr := e.runQuery(c.Context(), c.Body, md)
	if aerr != nil {
		fail(c, aerr)
		return
	}
	if resp == nil || len(resp.Results) == 0 {
		c.SetStatus(204)
		return
	}
	dst := append(c.RespBody[:0], `{"results":[`...)
	for i, r := range resp.Results {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"key":`...)
		dst = apierr.AppendJSONString(dst, r.Key)
		dst = append(dst, `,"data":`...)
		if len(r.Data) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = appendRawJSON(dst, r.Data)
		}
		if r.ETag != "" {
			dst = append(dst, `,"etag":`...)
			dst = apierr.AppendJSONString(dst, r.ETag)
		}
		if r.Error != "" {
			dst = append(dst, `,"error":`...)
			dst = apierr.AppendJSONString(dst, r.Error)
		}
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if resp.Token != "" {
		dst = append(dst, `,"token":`...)
		dst = apierr.AppendJSONString(dst, resp.Token)
	}
	if len(resp.Metadata) > 0 {
		dst = append(dst, `,"metadata":`...)
		dst = appendStringMap(dst, resp.Metadata)
	}
	c.RespBody = append(dst, '}', '\n')
	c.JSON(200)
}
