// Package health serves daprd's readiness endpoints, /v1.0/healthz and
// /v1.0/healthz/outbound. Handlers run inline on the event loop and read two
// atomic flags that the runtime flips; they keep nothing from the request.
package health

import (
	"sync/atomic"

	"github.com/skiffd/skiff/dataplane/apierr"
	"github.com/skiffd/skiff/dataplane/http1"
	"github.com/skiffd/skiff/dataplane/router"
)

// Health holds the sidecar's readiness.
type Health struct {
	appID    string
	ready    atomic.Bool // components loaded and, with --app-port, the app answering
	outbound atomic.Bool // components loaded: calls out of the app can be served
	// checks are component readiness probes (a backend still connecting);
	// healthz is not ready while one returns an error, and names it.
	checks atomic.Pointer[[]func() error]
}

// AddCheck adds a readiness probe: healthz answers ERR_HEALTH_NOT_READY with
// the probe's error while it returns one. Probes run on the event loop and
// must not block (read an atomic).
func (h *Health) AddCheck(f func() error) {
	for {
		old := h.checks.Load()
		var next []func() error
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, f)
		if h.checks.CompareAndSwap(old, &next) {
			return
		}
	}
}

// notReady returns the first failing probe's error.
func (h *Health) notReady() error {
	if p := h.checks.Load(); p != nil {
		for _, f := range *p {
			if err := f(); err != nil {
				return err
			}
		}
	}
	return nil
}

// New returns a Health that is not ready yet.
func New(appID string) *Health { return &Health{appID: appID} }

// SetReady marks the sidecar ready (or not).
func (h *Health) SetReady(v bool) { h.ready.Store(v) }

// SetOutboundReady marks outbound calls ready (or not).
func (h *Health) SetOutboundReady(v bool) { h.outbound.Store(v) }

// Ready reports the sidecar's readiness.
func (h *Health) Ready() bool { return h.ready.Load() }

// Routes returns the health endpoints. They need no API token, as in daprd.
func (h *Health) Routes() []router.Route {
	get := []http1.Method{http1.MethodGet}
	return []router.Route{
		{Name: "healthz", Methods: get, Pattern: "/v1.0/healthz", Mode: router.Inline, NoAuth: true, Handler: h.healthz},
		{Name: "healthz.outbound", Methods: get, Pattern: "/v1.0/healthz/outbound", Mode: router.Inline, NoAuth: true, Handler: h.outboundz},
	}
}

func (h *Health) healthz(c *router.Ctx) {
	if id := http1.QueryGet(c.Req.Query(), "appid"); id != nil && string(id) != h.appID {
		c.Error(apierr.HealthAppidNotMatch, "dapr app-id does not match")
		return
	}
	if !h.ready.Load() {
		c.Error(apierr.HealthNotReady, "dapr is not ready")
		return
	}
	if err := h.notReady(); err != nil {
		c.Error(apierr.HealthNotReady, "dapr is not ready: "+err.Error())
		return
	}
	c.SetStatus(204)
}

func (h *Health) outboundz(c *router.Ctx) {
	if !h.outbound.Load() {
		c.Error(apierr.HealthNotReady, "dapr outbound is not ready")
		return
	}
	c.SetStatus(204)
}
