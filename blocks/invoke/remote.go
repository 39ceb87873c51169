package invoke

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/skiffd/skiff/blocks/acl"
	"github.com/skiffd/skiff/blocks/resiliency"
	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/internalrpc"
	"github.com/skiffd/skiff/dataplane/internalrpc/internalpb"
	"github.com/skiffd/skiff/dataplane/metrics"
	"github.com/skiffd/skiff/dataplane/nameresolution"
	"github.com/skiffd/skiff/dataplane/router"
)

// Remote wires invocation of other app ids through their sidecars, as
// daprd does in standalone mode: resolve the id (name resolution), send
// the call over the internal gRPC protocol (CallLocal), relay the answer.
// A nil Remote keeps every other app id unresolvable.
type Remote struct {
	Resolver nameresolution.Resolver
	Client   *internalrpc.Client
	// Policy returns the resiliency policy of calls to an app (nil: none
	// applies); BuiltIn is daprd's DaprBuiltInServiceRetries, which runs
	// when no policy does: transport failures (Unavailable,
	// Unauthenticated) are retried on a fresh connection.
	Policy  func(app string) *resiliency.AppPolicy
	BuiltIn *resiliency.Policy
	// Metrics records dapr_runtime_service_invocation_* (nil: off).
	Metrics *metrics.ServiceInvocation
	// ACL is Configuration spec.accessControl, applied to calls from other
	// sidecars (nil: allow all).
	ACL *acl.List
	// HostAddress and HostName fill daprd's X-Forwarded-* and Forwarded.
	HostAddress, HostName string

	policies sync.Map // app id -> *resiliency.AppPolicy (nil stored as noPolicy)
}

var noPolicy = new(resiliency.AppPolicy)

func (r *Remote) policyFor(app string) *resiliency.AppPolicy {
	if r.Policy == nil {
		return nil
	}
	if v, ok := r.policies.Load(app); ok {
		if v == noPolicy {
			return nil
		}
		return v.(*resiliency.AppPolicy)
	}
	p := r.Policy(app)
	if p == nil {
		r.policies.Store(app, noPolicy)
		return nil
	}
	r.policies.Store(app, p)
	return p
}

// remoteTarget reports whether target names another app that the remote
// path serves, and splits it into id and namespace.
func (s *Service) remoteTarget(target []byte) (id, ns string, ok bool) {
	if s.cfg.Remote == nil || len(target) == 0 ||
		bytes.HasPrefix(target, []byte("http://")) || bytes.HasPrefix(target, []byte("https://")) {
		return "", "", false
	}
	idb, nsb := target, []byte(nil)
	if i := bytes.IndexByte(target, '.'); i >= 0 {
		if bytes.IndexByte(target[i+1:], '.') >= 0 {
			return "", "", false
		}
		idb, nsb = target[:i], target[i+1:]
	}
	if string(idb) == s.cfg.AppID || len(idb) == 0 {
		return "", "", false
	}
	ns = string(nsb)
	if ns == "" {
		ns = s.cfg.Namespace
	}
	return string(idb), ns, true
}

// answer of a remote call.
type remoteAnswer struct {
	resp *internalpb.InternalInvokeResponse
	body []byte
}

func (a *remoteAnswer) status() int {
	code := int(a.resp.GetStatus().GetCode())
	if code >= 100 {
		return code
	}
	// A gRPC app's status (0-16): daprd's HTTPStatusFromCode.
	return httpStatusFromCode(codes.Code(code))
}

// invokeRemote runs on a worker (ServeHTTP): the call to app id through
// its sidecar, under the app's resiliency policy if one applies.
func (s *Service) invokeRemote(ctx context.Context, c *router.Ctx, cl *call, target []byte, id, ns string) {
	rm := s.cfg.Remote
	body := c.Body
	if c.BodyStream != nil {
		b, complete, err := readUpTo(c.BodyStream, max(s.cfg.ReplayLimit, 1))
		if err != nil || !complete {
			if err == nil {
				err = fmt.Errorf("request body larger than %d bytes", s.cfg.ReplayLimit)
			}
			e := failed(target, err.Error())
			c.Error(e.API, e.Msg)
			return
		}
		body = b
	}
	method := strings.TrimPrefix(string(cl.path), "/")
	req := s.internalRequest(c, cl, id, method)
	tp := string(c.Trace)
	if tp == "" {
		tp = string(c.Req.Header("traceparent"))
	}
	if tp != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "traceparent", tp)
		if bin, ok := traceBin(tp); ok {
			ctx = metadata.AppendToOutgoingContext(ctx, "grpc-trace-bin", bin)
		}
	}

	pol := rm.policyFor(id).For(method)
	if pol == nil {
		ans, err := s.callBuiltIn(ctx, id, ns, req, body)
		if err != nil {
			s.remoteFailed(c, target, err)
			return
		}
		s.relayRemote(c, ans)
		return
	}
	// A user policy: each attempt is one call; an answer outside 200-399
	// is a failure to retry, relayed as sent once retries are spent (as
	// serveWithPolicy does for our own app).
	var last *remoteAnswer
	err := pol.Run(ctx, func(ctx context.Context) error {
		last = nil
		ans, err := s.callOnce(ctx, id, ns, req, body)
		if err != nil {
			if status.Code(err) == codes.PermissionDenied {
				return resiliency.Permanent(err)
			}
			return err
		}
		if st := ans.status(); st < 200 || st > 399 {
			last = ans
			return &resiliency.CodeError{Code: st}
		}
		last = ans
		return nil
	})
	var ce *resiliency.CodeError
	switch {
	case err == nil:
		s.relayRemote(c, last)
	case last != nil && errors.As(err, &ce):
		s.relayRemote(c, last)
	default:
		s.remoteFailed(c, target, err)
	}
}

// callBuiltIn is daprd's invokeWithRetry without a user policy: transport
// failures are retried (DaprBuiltInServiceRetries) on a fresh connection,
// anything else ends the call.
func (s *Service) callBuiltIn(ctx context.Context, id, ns string, req *internalpb.InternalInvokeRequest, body []byte) (*remoteAnswer, error) {
	var ans *remoteAnswer
	var transport error // the last transport failure, for daprd's wording
	attempt := 0
	err := s.cfg.Remote.BuiltIn.Run(ctx, func(ctx context.Context) error {
		attempt++
		a, err := s.callOnce(ctx, id, ns, req, body)
		if err == nil {
			ans = a
			return nil
		}
		var re *resolveError
		if errors.As(err, &re) && transport != nil {
			// The sidecar went away and no longer answers mDNS: report the
			// transport failure, as daprd (which keeps the stale address)
			// does once its retries are spent.
			return resiliency.Permanent(fmt.Errorf("failed to invoke target %s after %d retries. Error: %w", id, attempt-1, transport))
		}
		if c := status.Code(err); c == codes.Unavailable || c == codes.Unauthenticated {
			transport = err
			return fmt.Errorf("failed to invoke target %s after %d retries. Error: %w", id, attempt-1, err)
		}
		return resiliency.Permanent(err)
	})
	return ans, err
}

// resolveError is a failed name resolution.
type resolveError struct{ err error }

func (e *resolveError) Error() string { return e.err.Error() }
func (e *resolveError) Unwrap() error { return e.err }

// callOnce resolves id and sends one CallLocal.
func (s *Service) callOnce(ctx context.Context, id, ns string, req *internalpb.InternalInvokeRequest, body []byte) (*remoteAnswer, error) {
	rm := s.cfg.Remote
	addr, err := rm.Resolver.ResolveID(ctx, id, ns)
	if err != nil {
		return nil, resiliency.Permanent(&resolveError{err})
	}
	rm.Metrics.RequestSent(id, false)
	start := time.Now()
	resp, rbody, err := rm.Client.CallLocal(ctx, addr, req, body)
	if err != nil {
		// No answer, no res_recv: daprd records it only for an answer.
		code := status.Code(err)
		if code == codes.Unavailable || code == codes.Unauthenticated {
			// The sidecar is gone or moved: drop the connection and the
			// cached address, so the next attempt dials what mDNS says now.
			rm.Client.Reset(addr)
			rm.Resolver.Forget(id, addr)
		}
		return nil, err
	}
	ans := &remoteAnswer{resp: resp, body: rbody}
	rm.Metrics.ResponseReceived(id, ans.status(), false, time.Since(start))
	return ans, nil
}

// remoteFailed answers a call that got no answer: 403 when the callee's
// access control refused it, else 500, both ERR_DIRECT_INVOKE as daprd.
func (s *Service) remoteFailed(c *router.Ctx, target []byte, err error) {
	e := failed(target, err.Error())
	if status.Code(unwrapAll(err)) == codes.PermissionDenied {
		c.Error(&apierr.Error{Status: http.StatusForbidden, Code: e.API.Code}, e.Msg)
		return
	}
	c.Error(e.API, e.Msg)
}

// unwrapAll returns the innermost wrapped error (status.Code looks only at
// the outermost GRPCStatus).
func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// internalRequest builds the CallLocal request of c as daprd's
// NewInvokeMethodRequest(...).WithHTTPExtension().WithHTTPHeaders() plus
// the metadata daprd adds (forwarding, caller and callee ids).
func (s *Service) internalRequest(c *router.Ctx, cl *call, id, method string) *internalpb.InternalInvokeRequest {
	r := &c.Req
	md := make(map[string]*internalpb.ListStringValue, r.NumHeaders()+6)
	set := func(k, v string) { md[k] = &internalpb.ListStringValue{Values: []string{v}} }
	for i := 0; i < r.NumHeaders(); i++ {
		name, value := r.HeaderAt(i)
		if dropRequestHeader(name) || s.dropToken && http1.EqualFold(name, "dapr-api-token") ||
			http1.EqualFold(name, "traceparent") || http1.EqualFold(name, "tracestate") {
			continue
		}
		k := strings.ToLower(string(name))
		if l := md[k]; l != nil {
			l.Values = append(l.Values, string(value))
			continue
		}
		set(k, string(value))
	}
	if s.cfg.Remote.HostAddress != "" {
		set("x-forwarded-for", s.cfg.Remote.HostAddress)
	}
	if s.cfg.Remote.HostName != "" {
		set("x-forwarded-host", s.cfg.Remote.HostName)
	}
	fwd := ""
	if a := s.cfg.Remote.HostAddress; a != "" {
		fwd = "for=" + a + ";by=" + a + ";"
	}
	if h := s.cfg.Remote.HostName; h != "" {
		fwd += "host=" + h
	}
	set("forwarded", fwd)
	set("dapr-app-id", id)
	set("dapr-caller-app-id", s.cfg.AppID)
	set("dapr-callee-app-id", id)
	if s.cfg.Namespace != "" {
		set("dapr-caller-namespace", s.cfg.Namespace)
	}
	return &internalpb.InternalInvokeRequest{
		Ver:      internalpb.APIVersion_V1,
		Metadata: md,
		Message: &internalpb.InvokeRequest{
			Method:      method,
			ContentType: string(r.Header("Content-Type")),
			HttpExtension: &internalpb.HTTPExtension{
				Verb:        verbOf(cl.req.Method),
				Querystring: string(r.Query()),
			},
		},
	}
}

// verbOf maps a method to HTTPExtension's verb (an unknown one is NONE,
// which the callee sends as POST).
func verbOf(m []byte) internalpb.HTTPExtension_Verb {
	if v, ok := internalpb.HTTPExtension_Verb_value[string(m)]; ok {
		return internalpb.HTTPExtension_Verb(v)
	}
	return internalpb.HTTPExtension_NONE
}

// relayRemote writes the callee's answer as daprd does: its status, its
// headers (every value), the content type it reported, its body.
func (s *Service) relayRemote(c *router.Ctx, a *remoteAnswer) {
	st := a.status()
	body := a.body
	if code := a.resp.GetStatus().GetCode(); code < 100 && st != http.StatusOK {
		// A gRPC app's error: daprd answers the status as JSON.
		body = []byte(fmt.Sprintf(`{"code":%d,"message":%q}`, code, a.resp.GetStatus().GetMessage()))
	}
	c.SetStatus(st)
	var hdrs []byte
	for k, l := range a.resp.GetHeaders() {
		if skipAnswerHeader(k) {
			continue
		}
		for _, v := range l.GetValues() {
			hdrs = append(append(append(append(hdrs, k...), ": "...), v...), "\r\n"...)
		}
	}
	c.AppendRawHeaders(hdrs)
	if ct := a.resp.GetMessage().GetContentType(); ct != "" {
		c.SetHeader("Content-Type", ct)
	} else if len(body) > 0 {
		c.SetHeader("Content-Type", http.DetectContentType(body))
	}
	if c.Req.MethodID == http1.MethodHead {
		return
	}
	_, _ = c.Write(body)
}

// skipAnswerHeader: what the callee's headers must not set here (framing,
// hop-by-hop, the content type that travels apart), as daprd's
// InternalMetadataToHTTPHeader skips them.
func skipAnswerHeader(k string) bool {
	if strings.HasPrefix(k, ":") || strings.HasPrefix(strings.ToLower(k), "grpc-") || strings.HasSuffix(strings.ToLower(k), "-bin") {
		return true
	}
	if http1.EqualFold([]byte(k), "content-type") {
		return true
	}
	return dropResponseHeader([]byte(k))
}

// httpStatusFromCode is daprd's invokev1.HTTPStatusFromCode.
func httpStatusFromCode(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499
	case codes.Unknown, codes.Internal, codes.DataLoss:
		return http.StatusInternalServerError
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
