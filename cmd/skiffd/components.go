package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/skiffd/skiff/blocks/invoke"
	"github.com/skiffd/skiff/blocks/metadata"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/blocks/state/memory"
	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/router"
)

// componentSet is every component skiffd built, by building block.
type componentSet struct {
	states  []state.StoreEntry
	meta    []metadata.Component
	closers []io.Closer
	channel *appchannel.Client
}

// stateFactories is the explicit registry of state store types. A type not
// listed here stops startup, naming the file and line that asked for it.
var stateFactories = map[string]func(name string, md map[string]string) (state.Store, error){
	"state.in-memory": func(name string, md map[string]string) (state.Store, error) { return memory.New(name, md) },
}

func supportedTypes() string {
	var t []string
	for k := range stateFactories {
		t = append(t, k)
	}
	sort.Strings(t)
	return strings.Join(t, ", ")
}

// buildComponents creates the components of set, or the embedded defaults
// when no resources path was given.
func buildComponents(o *options, set *resources.Set, log *slog.Logger) (*componentSet, error) {
	cs := &componentSet{}
	comps := set.Components
	if len(o.resourcesPath) == 0 {
		log.Info("no --resources-path: using the embedded in-memory state store \"statestore\" (state.in-memory)")
		comps = []resources.Component{{Name: "statestore", Type: "state.in-memory", Version: "v1"}}
	}
	for i := range comps {
		c := &comps[i]
		if c.SecretStore != "" || hasSecretRef(c) {
			cs.close()
			return nil, fmt.Errorf("%s:%d: component %s uses secretKeyRef; secret stores are not implemented yet", c.File, c.Line, c.Name)
		}
		factory, ok := stateFactories[c.Type]
		if !ok {
			cs.close()
			return nil, fmt.Errorf("%s:%d: component %s: unknown or not yet supported component type %q (supported: %s)", c.File, c.Line, c.Name, c.Type, supportedTypes())
		}
		if c.Version != "" && c.Version != "v1" {
			cs.close()
			return nil, fmt.Errorf("%s:%d: component %s: %s has no version %s (only v1)", c.File, c.Line, c.Name, c.Type, c.Version)
		}
		md := c.Meta()
		store, err := factory(c.Name, md)
		if err != nil {
			cs.close()
			if c.IgnoreErrors {
				log.Warn("component failed to initialise; ignoring it (ignoreErrors)", "component", c.Name, "error", err)
				continue
			}
			return nil, fmt.Errorf("%s:%d: component %s: %w", c.File, c.Line, c.Name, err)
		}
		cs.closers = append(cs.closers, store)
		prefix, _ := c.Lookup("keyPrefix")
		cs.states = append(cs.states, state.StoreEntry{Name: c.Name, Store: store, KeyPrefix: prefix})
		cs.meta = append(cs.meta, metadata.Component{
			Name: c.Name, Type: c.Type, Version: "v1", Capabilities: store.Features().Names(),
		})
		log.Info("component loaded", "name", c.Name, "type", c.Type)
	}
	return cs, nil
}

func hasSecretRef(c *resources.Component) bool {
	for _, m := range c.Metadata {
		if m.SecretKeyRef != nil {
			return true
		}
	}
	return false
}

func (cs *componentSet) metadata() []metadata.Component { return cs.meta }

// routes builds the building blocks over the components and returns their
// routes; it also plugs service invocation's header forms into t.
func (cs *componentSet) routes(o *options, t *router.Table, appPort int, maxBody int64, probe *func(context.Context) error) ([]router.Route, error) {
	var routes []router.Route
	st, err := state.New(state.Config{AppID: o.appID, Namespace: os.Getenv("NAMESPACE")}, cs.states)
	if err != nil {
		return nil, err
	}
	routes = append(routes, st.Routes()...)

	if appPort != 0 {
		ch, err := appchannel.New(appchannel.Config{
			Address:         o.appChannelAddress,
			Port:            appPort,
			Protocol:        o.appProtocol,
			MaxConcurrency:  o.appMaxConcurrency,
			AppAPIToken:     os.Getenv("APP_API_TOKEN"),
			MaxResponseBody: maxBody, // daprd caps app responses at --max-body-size too
		})
		if err != nil {
			return nil, err
		}
		cs.channel = ch
		cs.closers = append(cs.closers, ch)
		*probe = ch.Probe
	}
	inv := invoke.New(invoke.Config{
		AppID:         o.appID,
		Namespace:     os.Getenv("NAMESPACE"),
		Channel:       cs.channel,
		StripAPIToken: os.Getenv("DAPR_API_TOKEN") != "",
	})
	routes = append(routes, inv.Routes()...)
	t.Intercept = inv.Intercept(t)
	t.Fallback = inv.Fallback()
	return routes, nil
}

func (cs *componentSet) close() {
	var errs []error
	for _, c := range cs.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	cs.closers = nil
	if err := errors.Join(errs...); err != nil {
		slog.Warn("closing components: " + err.Error())
	}
}
