package invoke

import (
	"bytes"
	"context"
	"sync"

	"github.com/skiffd/skiff/blocks/resiliency"
	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/router"
)

// Config wires the block.
type Config struct {
	// AppID is --app-id.
	AppID string
	// Namespace is NAMESPACE. In standalone mode daprd resolves app ids with
	// mDNS, which ignores the namespace, so "id.ns" reaches app "id"
	// whatever ns is; kept for the multi-host resolver.
	Namespace string
	// Channel calls our app; nil when there is no --app-port.
	Channel *appchannel.Client
	// StripAPIToken drops the caller's dapr-api-token header (daprd removes
	// it once it has checked it, i.e. when DAPR_API_TOKEN is set).
	StripAPIToken bool
	// AppHealthy, when set (app health checks enabled), refuses calls while
	// it reports false, as daprd does.
	AppHealthy func() bool
	// Policy is the resiliency policy of calls to our app, resolved once
	// (nil: none applies, and calls keep the event-loop fast path).
	Policy *resiliency.AppPolicy
	// ReplayLimit bounds the buffer that keeps a streamed request body for
	// retries (--max-body-size); a larger body is sent once. It also bounds
	// a body sent to another app's sidecar.
	ReplayLimit int64
	// Remote, when set, reaches other app ids through their sidecars
	// (remote.go); nil: they cannot be resolved.
	Remote *Remote
}

// Error is a failed invocation, as daprd reports it.
type Error struct {
	API *apierr.Error
	Msg string
}

func (e *Error) Error() string { return e.API.Code + ": " + e.Msg }

// errNoAppID is daprd's answer when no target can be found: ERR_DIRECT_INVOKE
// with status 404 (apierr.DirectInvoke is the 500 one).
var errNoAppID = &apierr.Error{Status: 404, Code: "ERR_DIRECT_INVOKE"}

const msgNoAppID = "failed getting app id either from the URL path or the header dapr-app-id"

// Service invokes apps.
type Service struct {
	cfg       Config
	dropToken bool
	calls     sync.Pool // *call
	// inlineDone is onInlineDone bound once, so CallApp allocates nothing.
	inlineDone router.AppDone
}

// New returns the service.
func New(cfg Config) *Service {
	s := &Service{cfg: cfg}
	s.dropToken = cfg.StripAPIToken || cfg.Channel != nil && cfg.Channel.HasAppToken()
	s.calls.New = func() any { return new(call) }
	s.inlineDone = s.onInlineDone
	return s
}

// call is the pooled per-invocation state.
type call struct {
	req  appchannel.Request
	resp appchannel.Response
	path []byte
	hdrs []byte
	tmp  []byte
	wire []byte // the encoded request of a call from the loop
}

func (s *Service) getCall() *call { return s.calls.Get().(*call) }

func (s *Service) putCall(c *call) {
	c.req.Reset()
	c.path, c.hdrs, c.tmp, c.wire = c.path[:0], c.hdrs[:0], c.tmp[:0], c.wire[:0]
	s.calls.Put(c)
}

// Invoke sends req to the app named target (the app id as the caller gave
// it, percent-decoded) and fills resp. On success the caller must close
// resp. The error carries daprd's code, status and message.
func (s *Service) Invoke(ctx context.Context, target []byte, req *appchannel.Request, resp *appchannel.Response) *Error {
	if e := s.check(target); e != nil {
		return e
	}
	if err := s.cfg.Channel.Do(ctx, req, resp); err != nil {
		return failed(target, err.Error())
	}
	return nil
}

// check refuses a call daprd would not send: another app, no channel, an
// unhealthy app.
func (s *Service) check(target []byte) *Error {
	if msg := s.resolve(target); msg != "" {
		return failed(target, msg)
	}
	if s.cfg.Channel == nil {
		return failed(target, "cannot invoke local endpoint: app channel not initialized")
	}
	if s.cfg.AppHealthy != nil && !s.cfg.AppHealthy() {
		return failed(target, "rpc error: code = Internal desc = app is not in a healthy state")
	}
	return nil
}

// resolve returns "" when target is our own app, else why it cannot be
// reached. daprd splits "id.namespace"; more dots are invalid.
func (s *Service) resolve(target []byte) string {
	if len(target) == 0 {
		return "app id is empty"
	}
	if bytes.HasPrefix(target, []byte("http://")) || bytes.HasPrefix(target, []byte("https://")) {
		return "invoking external HTTP endpoints is not supported by skiff yet"
	}
	id := target
	if i := bytes.IndexByte(target, '.'); i >= 0 {
		if bytes.IndexByte(target[i+1:], '.') >= 0 {
			return "invalid app id " + string(target)
		}
		id = target[:i]
	}
	if string(id) == s.cfg.AppID {
		return ""
	}
	// What daprd's standalone (mDNS) resolver answers for an unknown app.
	return "couldn't find service: " + string(id)
}

func failed(target []byte, msg string) *Error {
	return &Error{API: apierr.DirectInvoke, Msg: "failed to invoke, id: " + string(target) + ", err: " + msg}
}
