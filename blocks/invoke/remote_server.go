package invoke

import (
	"bytes"
	"context"
	"io"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/skiffd/skiff/blocks/acl"
	"github.com/skiffd/skiff/dataplane/internalrpc"
	"github.com/skiffd/skiff/dataplane/internalrpc/internalpb"
)

// CallLocal returns the handler of calls from other sidecars (the internal
// gRPC server's CallLocal and CallLocalStream): access control, then our
// app through the app channel, and the app's answer back, as daprd's
// callLocal does. It runs on the gRPC server's goroutines, never on the
// event loop.
func (s *Service) CallLocal() internalrpc.Handler {
	return s.callLocal
}

func (s *Service) callLocal(ctx context.Context, req *internalpb.InternalInvokeRequest, body []byte) (*internalpb.InternalInvokeResponse, []byte, error) {
	var rm *Remote
	if s.cfg.Remote != nil {
		rm = s.cfg.Remote
	} else {
		rm = &Remote{}
	}
	caller := last(req.GetMetadata(), "dapr-caller-app-id")
	rm.Metrics.RequestReceived(caller)
	resp, rbody, err := s.callLocalApp(ctx, rm, req, body)
	if err == nil {
		rm.Metrics.ResponseSent(caller, int(resp.GetStatus().GetCode()))
	} else {
		rm.Metrics.ResponseSent(caller, int(status.Code(err)))
	}
	return resp, rbody, err
}

func (s *Service) callLocalApp(ctx context.Context, rm *Remote, req *internalpb.InternalInvokeRequest, body []byte) (*internalpb.InternalInvokeResponse, []byte, error) {
	msg := req.GetMessage()
	verb := msg.GetHttpExtension().GetVerb()
	if verb == internalpb.HTTPExtension_NONE {
		verb = internalpb.HTTPExtension_POST
	}
	if verb == internalpb.HTTPExtension_CONNECT {
		return nil, nil, status.Error(codes.InvalidArgument, "invalid HTTP verb")
	}
	if rm.ACL != nil {
		// Without mTLS there is no SPIFFE identity to trust (the caller's
		// metadata can be forged), so daprd applies the global default
		// action only: so do we (acl.Caller{} is the unknown caller).
		op := normalizeOperation(msg.GetMethod())
		if ok, _ := rm.ACL.Allowed(acl.Caller{}, op, verb.String()); !ok {
			return nil, nil, status.Error(codes.PermissionDenied, acl.DeniedMessage(acl.Caller{}, op, verb.String()))
		}
	}
	if s.cfg.Channel == nil {
		return nil, nil, status.Error(codes.Internal, "cannot invoke local endpoint: app channel not initialized")
	}
	if s.cfg.AppHealthy != nil && !s.cfg.AppHealthy() {
		return nil, nil, status.Error(codes.Internal, "app is not in a healthy state")
	}
	cl := s.getCall()
	defer s.putCall(cl)
	r := &cl.req
	cl.tmp = append(cl.tmp[:0], verb.String()...)
	r.Method = cl.tmp
	cl.path = append(append(cl.path[:0], '/'), strings.TrimPrefix(msg.GetMethod(), "/")...)
	r.Path = cl.path
	r.Query = []byte(msg.GetHttpExtension().GetQuerystring())
	r.Body = body
	for k, l := range req.GetMetadata() {
		if skipRequestMetadata(k) {
			continue
		}
		vals := l.GetValues()
		if identityKey(k) && len(vals) > 1 {
			// An older daprd appends its own value after the ones its app
			// sent: keep the last, as daprd 1.18 does without mTLS.
			vals = vals[len(vals)-1:]
		}
		for _, v := range vals {
			r.AddHeaderString(k, v)
		}
	}
	if ct := msg.GetContentType(); ct != "" {
		r.AddHeaderString("Content-Type", ct)
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if tp := md.Get("traceparent"); len(tp) > 0 {
			r.AddHeaderString("traceparent", tp[0])
		} else if bin := md.Get("grpc-trace-bin"); len(bin) > 0 {
			if tp, ok := traceparentFromBin(bin[0]); ok {
				r.AddHeaderString("traceparent", tp)
			}
		}
		if ts := md.Get("tracestate"); len(ts) > 0 {
			r.AddHeaderString("tracestate", ts[0])
		}
	}
	resp := &cl.resp
	if err := s.cfg.Channel.Do(ctx, r, resp); err != nil {
		return nil, nil, status.Error(codes.Internal, err.Error())
	}
	defer resp.Close()
	rbody := append([]byte(nil), resp.Body...)
	if resp.BodyStream != nil {
		b := bytes.NewBuffer(rbody)
		if _, err := b.ReadFrom(resp.BodyStream); err != nil && err != io.EOF {
			return nil, nil, status.Error(codes.Internal, err.Error())
		}
		rbody = b.Bytes()
	}
	out := &internalpb.InternalInvokeResponse{
		Status:  &internalpb.Status{Code: int32(resp.Status)},
		Headers: map[string]*internalpb.ListStringValue{},
		Message: &internalpb.InvokeResponse{ContentType: string(resp.Header("Content-Type"))},
	}
	for i := 0; i < resp.NumHeaders(); i++ {
		name, value := resp.HeaderAt(i)
		if dropResponseHeader(name) {
			continue
		}
		k := string(name)
		if l := out.Headers[k]; l != nil {
			l.Values = append(l.Values, string(value))
			continue
		}
		out.Headers[k] = &internalpb.ListStringValue{Values: []string{string(value)}}
	}
	return out, rbody, nil
}

func last(md map[string]*internalpb.ListStringValue, k string) string {
	if l := md[k]; l != nil && len(l.GetValues()) > 0 {
		return l.GetValues()[len(l.GetValues())-1]
	}
	return ""
}

func identityKey(k string) bool {
	switch strings.ToLower(k) {
	case "dapr-caller-app-id", "dapr-caller-namespace", "dapr-callee-app-id":
		return true
	}
	return false
}

// skipRequestMetadata is what daprd's InternalMetadataToHTTPHeader does not
// turn into app headers: pseudo and gRPC-reserved keys, binary keys, trace
// keys (they come as gRPC metadata), the destination id, and framing.
func skipRequestMetadata(k string) bool {
	k = strings.ToLower(k)
	switch k {
	case "traceparent", "tracestate", "grpc-trace-bin", "dapr-app-id", "content-type", "content-length",
		"host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "trailer", "proxy-connection", "expect":
		return true
	}
	return strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") || strings.HasSuffix(k, "-bin")
}

// normalizeOperation approximates daprd's purell normalization of the
// operation (duplicate slashes removed, no trailing slash). Without mTLS
// only the global default action applies, so it shapes the denial
// message, not the decision.
func normalizeOperation(op string) string {
	p, q, hasQuery := strings.Cut(op, "?")
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		p = p[:len(p)-1]
	}
	if hasQuery && q != "" {
		return p + "?" + q
	}
	return p
}
