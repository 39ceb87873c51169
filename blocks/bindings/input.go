package bindings

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/skiffd/skiff/dataplane/appchannel"
)

// maxAppAnswer bounds what is kept of the app's answer to an event.
const maxAppAnswer = 4 << 20

// AppChannel is the app channel (*appchannel.Client, or a wrapper that
// pauses delivery while the app is unhealthy).
type AppChannel interface {
	Do(ctx context.Context, req *appchannel.Request, resp *appchannel.Response) error
}

// Inputs delivers input binding events to the app.
type Inputs struct {
	ch  AppChannel
	log *slog.Logger
}

// NewInputs returns the deliverer over the app channel.
func NewInputs(ch AppChannel, log *slog.Logger) *Inputs {
	return &Inputs{ch: ch, log: log}
}

// Start asks the app, for each input binding, whether it takes the binding
// and starts reading the ones it does. It runs the probes in goroutines and
// returns at once; readers stop when ctx ends.
func (in *Inputs) Start(ctx context.Context, inputs []InputEntry) {
	for _, e := range inputs {
		go func() {
			ok, err := in.Subscribed(ctx, e.Route)
			switch {
			case err != nil:
				in.log.Error("input binding not started: the app could not be asked whether it takes it", "binding", e.Name, "error", err)
				return
			case !ok:
				in.log.Info("the app does not take input binding "+e.Name+" (OPTIONS "+e.Route+" answered neither 2xx nor 405): not reading it", "binding", e.Name)
				return
			}
			h := func(ctx context.Context, ev *ReadResponse) ([]byte, error) {
				b, err := in.Deliver(ctx, e.Route, ev)
				if err != nil {
					in.log.Debug("input binding event not taken by the app", "binding", e.Name, "error", err)
				}
				return b, err
			}
			if err := e.Input.Read(ctx, h); err != nil {
				in.log.Error("input binding failed to start reading", "binding", e.Name, "error", err)
				return
			}
			in.log.Info("input binding started", "binding", e.Name, "route", e.Route)
		}()
	}
}

// Subscribed is daprd's isAppSubscribedToBinding over HTTP: OPTIONS route;
// a 2xx or a 405 means the app takes the binding.
func (in *Inputs) Subscribed(ctx context.Context, route string) (bool, error) {
	req := &appchannel.Request{Method: []byte("OPTIONS"), Path: []byte(route)}
	req.AddHeaderString("Content-Type", "application/json")
	var resp appchannel.Response
	if err := in.ch.Do(ctx, req, &resp); err != nil {
		return false, fmt.Errorf("could not invoke OPTIONS method on input binding subscription endpoint %q: %w", route, err)
	}
	code := resp.Status
	drain(&resp, 0)
	resp.Close()
	return code/100 == 2 || code == 405, nil
}

// Deliver POSTs one event to the app at route, with the event's metadata
// as headers, and returns the app's answer body. A non-2xx status is an
// error, worded as daprd words it.
func (in *Inputs) Deliver(ctx context.Context, route string, ev *ReadResponse) ([]byte, error) {
	req := &appchannel.Request{Method: []byte("POST"), Path: []byte(route), Body: ev.Data}
	req.AddHeaderString("Content-Type", "application/json")
	for k, v := range ev.Metadata {
		if validHeader(k, v) && !framing(k) {
			req.AddHeaderString(k, v)
		}
	}
	var resp appchannel.Response
	if err := in.ch.Do(ctx, req, &resp); err != nil {
		return nil, fmt.Errorf("error invoking app: %w", err)
	}
	body := drain(&resp, maxAppAnswer)
	code := resp.Status
	resp.Close()
	if code < 200 || code > 299 {
		return nil, &AppStatusError{Status: code, Body: body}
	}
	return body, nil
}

// AppStatusError is the app's refusal of an event: a non-2xx answer.
type AppStatusError struct {
	Status int
	Body   []byte
}

func (e *AppStatusError) Error() string {
	return fmt.Sprintf("fails to send binding event to http app channel, status code: %d body: %s", e.Status, e.Body)
}

// drain reads the answer's body, keeping at most keep bytes (a copy: the
// response's buffers go back to the pool on Close).
func drain(resp *appchannel.Response, keep int) []byte {
	if resp.Body != nil {
		n := min(len(resp.Body), keep)
		return append([]byte(nil), resp.Body[:n]...)
	}
	if resp.BodyStream == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.BodyStream, int64(keep)))
	_, _ = io.Copy(io.Discard, resp.BodyStream)
	return b
}

// framing reports the headers the app channel writes itself.
func framing(k string) bool {
	switch strings.ToLower(k) {
	case "host", "content-length", "transfer-encoding", "connection", "content-type":
		return true
	}
	return false
}

// RouteFor returns the app path of an input binding: its "route" metadata
// (a leading '/' added when missing) or "/"+name.
func RouteFor(name, route string) string {
	if route == "" {
		route = name
	}
	if !strings.HasPrefix(route, "/") {
		route = "/" + route
	}
	return route
}
