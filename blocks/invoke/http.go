package invoke

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"path"

	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/bufpool"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// Routes returns the invoke route: every method on /v1.0/invoke/…, as
// daprd's "invoke/*". The handler parses the raw path itself (as daprd does),
// so app ids such as "http://host" written with slashes reach it too.
func (s *Service) Routes() []router.Route {
	return []router.Route{{
		Name:    "invoke",
		Pattern: "/v1.0/invoke/{path*}",
		Mode:    router.Stream,
		Handler: s.ServeHTTP,
		Inline:  s.ServeInline,
	}}
}

// Fallback returns the route daprd runs for every request no other route
// takes (unknown path, or known path with another method): it is the
// invocation handler, which invokes the app named by dapr-app-id or Basic
// auth, or else answers 404 ERR_DIRECT_INVOKE "failed getting app id…".
func (s *Service) Fallback() *router.Route {
	return &router.Route{Name: "invoke.fallback", Mode: router.Stream, Handler: s.ServeHTTP, Inline: s.ServeInline}
}

// Intercept returns a router.Table.Intercept function for the header forms:
// a request carrying dapr-app-id (or Basic auth with user dapr-app-id) that
// matches no route of t, or matches one only for another method, goes to
// the invocation handler. A request that matches a route is left to that
// route, as in daprd, where the header form is the router's fallback. It
// runs on the event loop and allocates nothing.
func (s *Service) Intercept(t *router.Table) func(r *http1.Request, c *router.Ctx) *router.Route {
	fb := s.Fallback()
	return func(r *http1.Request, c *router.Ctx) *router.Route {
		if len(r.Header("dapr-app-id")) == 0 {
			var tmp [128]byte
			if _, ok := basicAppID(r, tmp[:0]); !ok {
				return nil
			}
		}
		if route, res := t.Match(r.MethodID, r.Path(), c); res == router.Found {
			return route
		}
		return fb
	}
}

// basicAppID decodes "Authorization: Basic base64(dapr-app-id:X)" into dst
// and returns X.
func basicAppID(r *http1.Request, dst []byte) ([]byte, bool) {
	auth := r.Header("Authorization")
	if len(auth) < 6 || string(auth[:6]) != "Basic " {
		return nil, false
	}
	enc := auth[6:]
	n := base64.StdEncoding.DecodedLen(len(enc))
	if cap(dst)-len(dst) < n {
		return nil, false // longer than any app id we accept here
	}
	buf := dst[len(dst) : len(dst)+n]
	m, err := base64.StdEncoding.Decode(buf, enc)
	if err != nil {
		return nil, false
	}
	pair := buf[:m]
	i := bytes.IndexByte(pair, ':')
	// Exactly one colon, as daprd's strings.Split(s, ":") with len 2.
	if i < 0 || bytes.IndexByte(pair[i+1:], ':') >= 0 {
		return nil, false
	}
	if !http1.EqualFold(pair[:i], "dapr-app-id") {
		return nil, false
	}
	return pair[i+1:], true
}

// findTarget finds the target app and the method path as daprd's
// findTargetIDAndMethod: the dapr-app-id header first (the whole request
// path, cleaned, is the method), then Basic auth, then the URL
// /v1.0/invoke/{id}/method/{method}. The method comes back without its
// leading '/'. Results may live in scratch; out is scratch as grown.
func findTarget(r *http1.Request, scratch []byte) (target, method, out []byte, ok bool) {
	raw := r.Path()
	if v := r.Header("dapr-app-id"); len(v) > 0 {
		m, out := cleanPath(raw, scratch)
		return v, m, out, true
	}
	var tmp [256]byte
	if id, ok := basicAppID(r, tmp[:0]); ok && len(id) > 0 {
		start := len(scratch)
		scratch = append(scratch, id...)
		idv := scratch[start:len(scratch):len(scratch)]
		m, out := cleanPath(raw, scratch)
		return idv, m, out, true
	}
	rest, ok := afterPrefix(raw, "v1.0", "invoke")
	if !ok {
		return nil, nil, scratch, false
	}
	i := bytes.Index(rest, []byte("/method/"))
	if i <= 0 {
		return nil, nil, scratch, false
	}
	target = rest[:i]
	method = rest[i+len("/method/"):]
	// daprd query-unescapes the id ('+' is a space) and keeps the raw form
	// when that fails or yields nothing.
	if bytes.IndexByte(target, '%') >= 0 || bytes.IndexByte(target, '+') >= 0 {
		start := len(scratch)
		dec, ok := http1.AppendUnescape(scratch, target, true)
		if ok && len(dec) > start {
			return dec[start:], method, dec, true
		}
		scratch = dec[:start]
	}
	return target, method, scratch, true
}

// afterPrefix is daprd's pathHasPrefix: the path starts with the given
// segments (extra slashes allowed) and something follows them; it returns
// what follows, slashes after the prefix skipped.
func afterPrefix(p []byte, parts ...string) ([]byte, bool) {
	found, start := 0, 0
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			if found >= len(parts) {
				return p[i:], true
			}
			continue
		}
		if i > start {
			if found >= len(parts) || string(p[start:i]) != parts[found] {
				return nil, false
			}
			found++
		}
		start = i + 1
	}
	return nil, false
}

// cleanPath is daprd's cleanPathPreserveTrailingSlash without the leading
// '/': path.Clean, keeping one trailing slash. The already-clean common case
// returns a view; otherwise the result is appended to scratch.
func cleanPath(raw []byte, scratch []byte) (method, out []byte) {
	if isClean(raw) {
		if len(raw) > 0 && raw[0] == '/' {
			return raw[1:], scratch
		}
		return raw, scratch
	}
	c := path.Clean(string(raw))
	if len(raw) > 1 && raw[len(raw)-1] == '/' && c != "/" {
		c += "/"
	}
	start := len(scratch)
	scratch = append(scratch, c...)
	m := scratch[start:]
	if len(m) > 0 && m[0] == '/' {
		m = m[1:]
	}
	return m, scratch
}

// isClean: rooted, no "//", no "." or ".." segment (a trailing slash is
// fine, cleanPath keeps it).
func isClean(p []byte) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	segStart := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		seg := p[segStart:i]
		if len(seg) == 0 && i < len(p) {
			return false
		}
		if string(seg) == "." || string(seg) == ".." {
			return false
		}
		segStart = i + 1
	}
	return true
}

// ServeHTTP is the invocation handler (route mode Stream), on a worker.
func (s *Service) ServeHTTP(c *router.Ctx) {
	cl := s.getCall()
	defer s.putCall(cl)
	r := &c.Req
	target, ok := s.prepare(c, cl)
	if !ok {
		return
	}
	req := &cl.req
	switch {
	case c.BodyStream != nil:
		req.BodyStream = c.BodyStream
		req.ContentLength = r.ContentLength
		if r.Chunked || req.ContentLength < 0 {
			req.ContentLength = -1
		}
	default:
		req.Body = c.Body
	}

	ctx := c.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if id, ns, ok := s.remoteTarget(target); ok {
		s.invokeRemote(ctx, c, cl, target, id, ns)
		return
	}
	resp := &cl.resp
	if s.cfg.Policy != nil {
		s.serveWithPolicy(ctx, c, cl, target)
		return
	}
	if e := s.Invoke(ctx, target, req, resp); e != nil {
		c.Error(e.API, e.Msg)
		return
	}
	defer resp.Close()
	s.answer(c, cl, resp, resp.Status, resp.ContentLength, resp.Body, resp.BodyStream)
}

// inlineMax is the largest request body sent from the event loop.
const inlineMax = 64 << 10

// ServeInline is the invocation handler's event-loop half: it runs when the
// whole request body is in memory and, when the server can, sends the call
// from the loop (router.Ctx.CallApp); inlineDone answers. Anything else
// (no loop channel, a large body, HEAD, whose Content-Length the loop's
// answer could not keep) goes to ServeHTTP on a worker.
func (s *Service) ServeInline(c *router.Ctx) {
	r := &c.Req
	if s.cfg.Channel == nil || s.cfg.Policy != nil || !c.CanCallApp() || len(c.Body) > inlineMax ||
		r.MethodID == http1.MethodHead || r.MethodID == http1.MethodOther {
		c.Offload(s.ServeHTTP)
		return
	}
	cl := s.getCall()
	defer s.putCall(cl)
	target, ok := s.prepare(c, cl)
	if !ok {
		return
	}
	if s.cfg.Remote != nil {
		if _, _, remote := s.remoteTarget(target); remote {
			// Another app's sidecar: a gRPC call, made from a worker.
			c.Offload(s.ServeHTTP)
			return
		}
	}
	if e := s.check(target); e != nil {
		c.Error(e.API, e.Msg)
		return
	}
	cl.req.Body = c.Body
	cl.wire = s.cfg.Channel.AppendRequest(cl.wire[:0], &cl.req)
	s.markStart(c)
	c.CallApp(cl.wire, cl.req.Replayable(), s.inlineDone)
}

// onInlineDone answers a call made by ServeInline: on the loop with a
// small body, on a worker with a stream.
func (s *Service) onInlineDone(c *router.Ctx, resp *router.AppResponse, err error) {
	cl := s.getCall()
	defer s.putCall(cl)
	if err != nil {
		s.reportInline(c, cl, 500, 0)
		// The request is still readable: word the error as Do would.
		target, _ := s.prepare(c, cl)
		e := failed(target, s.cfg.Channel.Fail(&cl.req, err).Error())
		c.Error(e.API, e.Msg)
		return
	}
	s.reportInline(c, cl, resp.Status, resp.ContentLength)
	s.answer(c, cl, resp, resp.Status, resp.ContentLength, resp.Body, resp.BodyStream)
}

// prepare finds the target and builds cl.req (method, path, query,
// headers; not the body). It answers c itself when it returns false.
func (s *Service) prepare(c *router.Ctx, cl *call) (target []byte, ok bool) {
	r := &c.Req
	target, method, scratch, ok := findTarget(r, cl.tmp[:0])
	cl.tmp = scratch
	if !ok {
		c.Error(errNoAppID, msgNoAppID)
		return nil, false
	}
	verb, ok := s.verb(r, cl)
	if !ok {
		e := failed(target, "rpc error: code = InvalidArgument desc = invalid HTTP verb")
		c.Error(e.API, e.Msg)
		return nil, false
	}
	req := &cl.req
	req.Method = verb
	cl.path = append(cl.path[:0], '/')
	if len(method) > 0 && method[0] == '/' {
		cl.path = cl.path[:0]
	}
	cl.path = append(cl.path, method...)
	req.Path = cl.path
	req.Query = r.Query()
	s.forwardHeaders(r, req, c.Trace)
	return target, true
}

// appHeaders is the app response's header fields, from either client.
type appHeaders interface {
	NumHeaders() int
	HeaderAt(i int) (name, value []byte)
	Header(name string) []byte
}

// answer relays the app's response to the caller.
func (s *Service) answer(c *router.Ctx, cl *call, h appHeaders, status int, length int64, body []byte, stream io.Reader) {
	c.SetStatus(status)
	cl.hdrs = appendResponseHeaders(cl.hdrs[:0], h)
	c.AppendRawHeaders(cl.hdrs)
	switch {
	case stream != nil:
		streamBody(c, h, stream, length)
	case c.Req.MethodID == http1.MethodHead && length > 0:
		// Keep the app's Content-Length on HEAD: a stream with no body.
		if w, err := c.StartStream(length); err == nil {
			_ = w.Close()
		}
	default:
		if len(body) > 0 && h.Header("Content-Type") == nil {
			// daprd writes through net/http, which sniffs a type for a body
			// the app left untyped; clients may rely on it.
			c.SetHeader("Content-Type", http.DetectContentType(body))
		}
		_, _ = c.Write(body)
	}
}

// verb returns the method to send: daprd upper-cases it and accepts only the
// verbs of its HTTPExtension (not CONNECT).
func (s *Service) verb(r *http1.Request, cl *call) ([]byte, bool) {
	switch r.MethodID {
	case http1.MethodConnect:
		return nil, false
	case http1.MethodOther:
		start := len(cl.tmp)
		for _, ch := range r.Method() {
			if 'a' <= ch && ch <= 'z' {
				ch -= 'a' - 'A'
			}
			cl.tmp = append(cl.tmp, ch)
		}
		up := cl.tmp[start:]
		switch http1.MethodFromBytes(up) {
		case http1.MethodOther, http1.MethodConnect:
			return nil, false
		}
		return up, true
	}
	return r.Method(), true
}

// forwardHeaders copies the caller's headers, minus hop-by-hop and framing
// headers (the app channel frames the request itself) and the ones daprd
// consumes, then adds the caller/callee identity. With tracing on (trace
// set: the API span's traceparent), the app gets the span as its parent
// instead of the caller's traceparent, as from daprd.
func (s *Service) forwardHeaders(r *http1.Request, req *appchannel.Request, trace []byte) {
	for i := 0; i < r.NumHeaders(); i++ {
		name, value := r.HeaderAt(i)
		if dropRequestHeader(name) || s.dropToken && http1.EqualFold(name, "dapr-api-token") ||
			len(trace) > 0 && http1.EqualFold(name, "traceparent") {
			continue
		}
		req.AddHeader(name, value)
	}
	if len(trace) > 0 {
		req.AddHeader([]byte("traceparent"), trace)
	}
	req.AddHeaderString("dapr-caller-app-id", s.cfg.AppID)
	req.AddHeaderString("dapr-callee-app-id", s.cfg.AppID)
}

func dropRequestHeader(name []byte) bool {
	switch len(name) {
	case 2:
		return http1.EqualFold(name, "te")
	case 4:
		return http1.EqualFold(name, "host")
	case 6:
		return http1.EqualFold(name, "expect") // we answered 100-continue already
	case 7:
		return http1.EqualFold(name, "upgrade") || http1.EqualFold(name, "trailer")
	case 10:
		return http1.EqualFold(name, "connection") || http1.EqualFold(name, "keep-alive")
	case 11:
		return http1.EqualFold(name, "dapr-app-id")
	case 14:
		return http1.EqualFold(name, "content-length")
	case 16:
		return http1.EqualFold(name, "proxy-connection")
	case 17:
		return http1.EqualFold(name, "transfer-encoding")
	case 18:
		// Identity headers are ours to set: a caller must not spoof them.
		return http1.EqualFold(name, "dapr-caller-app-id") || http1.EqualFold(name, "dapr-callee-app-id")
	case 21:
		return http1.EqualFold(name, "dapr-caller-namespace")
	}
	return false
}

func dropResponseHeader(name []byte) bool {
	switch len(name) {
	case 2:
		return http1.EqualFold(name, "te")
	case 4:
		return http1.EqualFold(name, "date") // the server writes its own
	case 7:
		return http1.EqualFold(name, "upgrade") || http1.EqualFold(name, "trailer")
	case 10:
		return http1.EqualFold(name, "connection") || http1.EqualFold(name, "keep-alive")
	case 14:
		return http1.EqualFold(name, "content-length")
	case 16:
		return http1.EqualFold(name, "proxy-connection")
	case 17:
		return http1.EqualFold(name, "transfer-encoding")
	}
	return false
}

func appendResponseHeaders(dst []byte, resp appHeaders) []byte {
	for i := 0; i < resp.NumHeaders(); i++ {
		name, value := resp.HeaderAt(i)
		if dropResponseHeader(name) {
			continue
		}
		dst = append(dst, name...)
		dst = append(dst, ": "...)
		dst = append(dst, value...)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

const copyBuf = 32 << 10

// streamBody relays a large or open-ended body through the server's
// streaming writer, through our own buffer.
func streamBody(c *router.Ctx, h appHeaders, body io.Reader, length int64) {
	bp := bufpool.Get(copyBuf)
	defer bufpool.Put(bp)
	buf := (*bp)[:copyBuf]
	// Read the first piece before the head goes out, to sniff a type for an
	// untyped body as daprd's net/http does.
	n, rerr := io.ReadAtLeast(body, buf[:512], 1)
	if n > 0 && h.Header("Content-Type") == nil {
		c.SetHeader("Content-Type", http.DetectContentType(buf[:n]))
	}
	w, err := c.StartStream(length)
	if err != nil {
		return // the client is gone; Close drops the app connection
	}
	for first := true; ; first = false {
		if !first {
			n, rerr = body.Read(buf)
		}
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				abort(w, werr)
				return
			}
		}
		if rerr == io.EOF {
			_ = w.Close()
			return
		}
		if rerr != nil {
			// Headers are gone already: all we can do is cut the response
			// short, as daprd does.
			abort(w, rerr)
			return
		}
	}
}

// abort ends a stream that failed; a writer that can say so is told, so the
// client sees a truncated response rather than a complete one.
func abort(w io.WriteCloser, err error) {
	if a, ok := w.(interface{ CloseWithError(error) error }); ok {
		_ = a.CloseWithError(err)
		return
	}
	_ = w.Close()
}
