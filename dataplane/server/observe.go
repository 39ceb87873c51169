package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/skiffd/skiff/dataplane/metrics"
)

// observe records ex in the HTTP server metrics. It runs on the loop when
// the response is handed to the connection; the views it passes are valid
// for the call, which is all Observe needs.
func (s *Server) observe(ex *exchange) {
	r := metrics.Request{
		Method:  ex.c.Req.Method(),
		Path:    ex.c.Req.Path(),
		Status:  ex.c.StatusCode(),
		Elapsed: time.Duration(nanotime() - ex.start),
	}
	if ex.c.Route != nil {
		r.Route = ex.c.Route.Name
	}
	if cl := ex.c.Req.ContentLength; cl > 0 {
		r.ReqBytes = cl
	}
	if ex.stream != nil {
		r.RespBytes = ex.stream.sent
	} else {
		r.RespBytes = int64(len(ex.c.RespBody))
	}
	s.cfg.Metrics.Observe(&r)
}

// logAPICall writes daprd's "HTTP API Called" line: method ("VERB /path",
// or daprd's endpoint name with obfuscateURLs), code, size, duration in
// milliseconds, user agent; app_id comes from the logger. Never bodies,
// query strings or headers such as dapr-api-token.
func (s *Server) logAPICall(ex *exchange) {
	route := ""
	if ex.c.Route != nil {
		route = ex.c.Route.Name
	}
	if s.cfg.APILogOmitHealth && (route == "healthz" || route == "healthz.outbound") {
		return
	}
	var method string
	if s.cfg.APILogObfuscate {
		method = metrics.EndpointName(route, ex.c.Req.Path())
	} else {
		method = string(ex.c.Req.Method()) + " " + string(ex.c.Req.Path())
	}
	size := int64(len(ex.c.RespBody))
	if ex.stream != nil {
		size = ex.stream.sent
	}
	attrs := make([]slog.Attr, 0, 5)
	attrs = append(attrs,
		slog.String("method", method),
		slog.Int("code", ex.c.StatusCode()),
		slog.Int64("size", size),
		slog.Int64("duration", (nanotime()-ex.start)/int64(time.Millisecond)),
	)
	if ua := ex.c.Req.Header("User-Agent"); len(ua) > 0 {
		attrs = append(attrs, slog.String("useragent", string(ua)))
	}
	s.cfg.APILogger.LogAttrs(context.Background(), slog.LevelInfo, "HTTP API Called", attrs...)
}

// Stats is a snapshot of the server's load, for skiff's own gauges. It
// takes the connection lock once: call it at scrape time, not per request.
type Stats struct {
	Connections int   // client connections open on the event loops
	InFlight    int64 // requests parsed and not yet answered
	Workers     int   // worker goroutines running
	Queued      int   // work waiting in the worker pool's backlog
}

// Stats returns the current figures.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	return Stats{
		Connections: n,
		InFlight:    s.inflight.Load(),
		Workers:     int(s.pool.n.Load()),
		Queued:      len(s.pool.backlog),
	}
}
