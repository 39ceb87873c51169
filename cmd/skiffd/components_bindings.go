package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/blocks/bindings/cron"
	"github.com/skiffd/skiff/blocks/bindings/httpbinding"
	"github.com/skiffd/skiff/blocks/bindings/localstorage"
	"github.com/skiffd/skiff/blocks/bindings/mqtt3"
	"github.com/skiffd/skiff/blocks/bindings/postgres"
	bindredis "github.com/skiffd/skiff/blocks/bindings/redis"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/router"
)

// bindingsSet is the bindings block's part of the component set.
type bindingsSet struct {
	outputs []bindings.OutputEntry
	inputs  []bindings.InputEntry
}

// bindingFactories is the explicit registry of binding types. A factory
// returns a component that implements bindings.Input, bindings.Output or
// both; the "direction" metadata may narrow that, as in daprd.
//
// Components with a backend connect in the background and report Ready()
// to healthz until they answer (see buildBinding).
var bindingFactories = map[string]func(name string, md map[string]string, log *slog.Logger) (io.Closer, error){
	"bindings.cron":         func(name string, md map[string]string, _ *slog.Logger) (io.Closer, error) { return cron.New(name, md) },
	"bindings.http":         func(_ string, md map[string]string, _ *slog.Logger) (io.Closer, error) { return httpbinding.New(md) },
	"bindings.localstorage": func(_ string, md map[string]string, _ *slog.Logger) (io.Closer, error) { return localstorage.New(md) },
	"bindings.redis": func(_ string, md map[string]string, log *slog.Logger) (io.Closer, error) {
		return bindredis.New(md, log)
	},
	"bindings.postgresql": newPostgresBinding,
	"bindings.postgres":   newPostgresBinding, // daprd's name
	"bindings.mqtt3": func(name string, md map[string]string, log *slog.Logger) (io.Closer, error) {
		return mqtt3.New(name, md, log)
	},
}

func newPostgresBinding(name string, md map[string]string, _ *slog.Logger) (io.Closer, error) {
	return postgres.New(name, md)
}

func bindingTypes() []string {
	var t []string
	for k := range bindingFactories {
		t = append(t, k)
	}
	sort.Strings(t)
	return t
}

// bindingDirections reads daprd's "direction" metadata ("input", "output" or
// both, comma-separated); absent means whatever the component can do.
func bindingDirections(md map[string]string) (in, out bool, err error) {
	v, ok := bindings.Lookup(md, "direction")
	if !ok || strings.TrimSpace(v) == "" {
		return true, true, nil
	}
	for _, d := range strings.Split(v, ",") {
		switch strings.ToLower(strings.TrimSpace(d)) {
		case "input":
			in = true
		case "output":
			out = true
		default:
			return false, false, fmt.Errorf("metadata direction: %q is neither input nor output", d)
		}
	}
	return in, out, nil
}

func (cs *componentSet) buildBinding(c *resources.Component, md map[string]string) (built, error) {
	factory, ok := bindingFactories[c.Type]
	if !ok {
		return built{}, errUnknownType
	}
	for _, o := range cs.outputs {
		if o.Name == c.Name {
			return built{}, fmt.Errorf("a binding named %s is already defined", c.Name)
		}
	}
	for _, i := range cs.inputs {
		if i.Name == c.Name {
			return built{}, fmt.Errorf("a binding named %s is already defined", c.Name)
		}
	}
	wantIn, wantOut, err := bindingDirections(md)
	if err != nil {
		return built{}, err
	}
	comp, err := factory(c.Name, md, cs.log.With("component", c.Name))
	if err != nil {
		return built{}, err
	}
	var caps []string
	if in, ok := comp.(bindings.Input); ok && wantIn {
		r, _ := bindings.Lookup(md, "route")
		route := bindings.RouteFor(c.Name, r)
		if strings.ContainsAny(route, " \t\r\n?#") {
			_ = comp.Close()
			return built{}, fmt.Errorf("metadata route %q is not a path", route)
		}
		cs.inputs = append(cs.inputs, bindings.InputEntry{Name: c.Name, Route: route, Input: in})
		caps = append(caps, "INPUT_BINDING")
	}
	if out, ok := comp.(bindings.Output); ok && wantOut {
		cs.outputs = append(cs.outputs, bindings.OutputEntry{Name: c.Name, Output: out})
		caps = append(caps, "OUTPUT_BINDING")
	}
	if caps == nil {
		_ = comp.Close()
		return built{}, fmt.Errorf("%s cannot be used in the direction its metadata asks for", c.Type)
	}
	b := built{closer: comp, capabilities: caps}
	if r, ok := comp.(interface{ Ready() error }); ok {
		// A backend that is down at startup is retried in the background;
		// healthz names the component until it answers.
		name := c.Name
		b.ready = func() error {
			if err := r.Ready(); err != nil {
				return fmt.Errorf("binding %s: %w", name, err)
			}
			return nil
		}
	}
	return b, nil
}

func (cs *componentSet) bindingsRoutes(env *blockEnv) ([]router.Route, error) {
	api, err := bindings.New(cs.cm.wrapOutputs(wrapOutputs(env.res, cs.outputs)))
	if err != nil {
		return nil, err
	}
	return api.Routes(), nil
}

// startBindings starts the input bindings the app takes. Without an app
// channel there is nobody to deliver to: daprd does not read them either.
func (cs *componentSet) startBindings(ctx context.Context, env *blockEnv) error {
	if len(cs.inputs) == 0 {
		return nil
	}
	if cs.channel == nil {
		env.log.Warn("input bindings are not read: no --app-port to deliver their events to")
		return nil
	}
	bindings.NewInputs(cs.deliveryApp(), env.log).Start(ctx, cs.cm.wrapInputs(wrapInputs(env.res, traceInputs(env.tracer, cs.inputs))))
	return nil
}

func bindingDefaults() []resources.Component { return nil }
