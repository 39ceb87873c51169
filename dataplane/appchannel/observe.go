package appchannel

import (
	"context"
	"sync/atomic"
	"time"
)

// Observer is told about every call a Client makes (dataplane/metrics'
// AppChannel implements it). It runs on the caller's goroutine after the
// response head arrived (or the call failed) and must not block.
type Observer interface {
	// AppCall: a call to the app ended; status is the app's, or 500 when
	// the call failed without an answer (as daprd counts it). sent is the
	// request body size when known, received the response's
	// Content-Length (0 when unknown), elapsed the time until the head.
	AppCall(method, path []byte, status int, sent, received int64, elapsed time.Duration)
	// HealthProbe: an app health probe ended (a Client with
	// Config.HealthProbe set).
	HealthProbe(status int, elapsed time.Duration)
}

// observerRef is shared by a Client and every Client built from its
// Settings (the health probe's), so that one SetObserver reaches them all.
type observerRef struct {
	p atomic.Pointer[Observer]
}

// SetObserver installs o (nil removes it) on c and on the clients built
// from c.Settings(). cmd calls it once, before traffic.
func (c *Client) SetObserver(o Observer) {
	if o == nil {
		c.cfg.obs.p.Store(nil)
		return
	}
	c.cfg.obs.p.Store(&o)
}

// Observer returns the installed observer, or nil (the event loops' own
// channel reports its calls through it too).
func (c *Client) Observer() Observer {
	if p := c.cfg.obs.p.Load(); p != nil {
		return *p
	}
	return nil
}

// Do sends req and reads the response head into resp; the body follows as
// resp.Body (small, complete) or resp.BodyStream. After a nil error the
// caller must call resp.Close. ctx bounds the whole exchange, body included,
// until Close: when it ends, the connection is aborted and dropped.
func (c *Client) Do(ctx context.Context, req *Request, resp *Response) error {
	o := c.Observer()
	if o == nil {
		return c.do(ctx, req, resp)
	}
	start := time.Now()
	err := c.do(ctx, req, resp)
	elapsed := time.Since(start)
	status, received := 500, int64(0)
	if err == nil {
		status, received = resp.Status, resp.ContentLength
	}
	if c.cfg.HealthProbe {
		o.HealthProbe(status, elapsed)
		return err
	}
	sent := int64(len(req.Body))
	if req.BodyStream != nil {
		sent = max(req.ContentLength, 0)
	}
	o.AppCall(req.Method, req.Path, status, sent, max(received, 0), elapsed)
	return err
}
