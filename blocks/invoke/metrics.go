package invoke

import (
	"time"

	"github.com/skiffd/skiff/dataplane/router"
)

// Calls made through appchannel.Client.Do report themselves to its
// Observer (dapr_http_client_*). A call the event loop sends for us
// (ServeInline) is reported here: ServeInline notes the start in the
// exchange's Ctx and onInlineDone reports the outcome. Nothing runs when no
// observer is installed (metrics off).

func (s *Service) markStart(c *router.Ctx) {
	if s.cfg.Channel.Observer() == nil {
		return
	}
	c.AppCallStart = time.Now()
}

// reportInline reports the call ServeInline sent; status 500 when it failed.
func (s *Service) reportInline(c *router.Ctx, cl *call, status int, received int64) {
	o := s.cfg.Channel.Observer()
	if o == nil {
		return
	}
	var elapsed time.Duration
	if !c.AppCallStart.IsZero() {
		elapsed = time.Since(c.AppCallStart)
	}
	verb, path := s.callLabels(c, cl)
	o.AppCall(verb, path, status, int64(len(c.Body)), max(received, 0), elapsed)
}

// callLabels rebuilds the verb and path the call was sent with (as prepare
// does, without the headers); views of c's request or of cl.
func (s *Service) callLabels(c *router.Ctx, cl *call) (verb, path []byte) {
	r := &c.Req
	_, method, scratch, ok := findTarget(r, cl.tmp[:0])
	cl.tmp = scratch
	if !ok {
		return nil, nil
	}
	verb, _ = s.verb(r, cl)
	cl.path = append(cl.path[:0], '/')
	if len(method) > 0 && method[0] == '/' {
		cl.path = cl.path[:0]
	}
	cl.path = append(cl.path, method...)
	return verb, cl.path
}
