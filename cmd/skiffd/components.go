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
	"github.com/skiffd/skiff/blocks/resiliency"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/apphealth"
	"github.com/skiffd/skiff/dataplane/metrics"
	"github.com/skiffd/skiff/dataplane/router"
	"github.com/skiffd/skiff/dataplane/tracing"
)

// componentSet is every component skiffd built, by building block. Each
// block's part lives in its own components_<block>.go file: the embedded
// structs below, its builder, its routes and its start hook.
type componentSet struct {
	stateSet
	pubsubSet
	bindingsSet
	secretsSet
	configurationSet
	lockSet

	meta    []metadata.Component
	closers []io.Closer
	ready   []func() error // readiness probes of components still connecting
	channel *appchannel.Client
	log     *slog.Logger

	cm        *componentMetrics  // nil unless metrics are on
	appHealth *apphealth.Monitor // nil unless --enable-app-health-check
	appID     string             // default consumerID of pub/sub components, as daprd's
	invoker   *invoke.Service    // the invocation block, for the internal gRPC server
}

// built is what a kind's builder hands back for one component.
type built struct {
	closer       io.Closer    // closed at shutdown; nil when nothing to close
	capabilities []string     // listed by the metadata API
	ready        func() error // nil, or a readiness probe for healthz (backend connecting)
}

// kind is one component category ("state", "pubsub", …): its builder and
// the types it knows, for the "unknown component type" message.
type kind struct {
	build func(cs *componentSet, c *resources.Component, md map[string]string) (built, error)
	types func() []string
	// defaults are the embedded components of this kind that skiffd runs on
	// when no resources path is given.
	defaults func() []resources.Component
}

// kinds is the explicit registry of component categories. A category or type
// not listed stops startup, naming the file and line that asked for it.
// Secret stores are built first: other components may reference them.
var kinds = map[string]kind{
	"secretstores":  {(*componentSet).buildSecretStore, secretStoreTypes, secretStoreDefaults},
	"state":         {(*componentSet).buildState, stateTypes, stateDefaults},
	"pubsub":        {(*componentSet).buildPubsub, pubsubTypes, pubsubDefaults},
	"bindings":      {(*componentSet).buildBinding, bindingTypes, bindingDefaults},
	"configuration": {(*componentSet).buildConfiguration, configurationTypes, configurationDefaults},
	"lock":          {(*componentSet).buildLock, lockTypes, lockDefaults},
}

// errUnknownType is returned by a builder for a type it does not know.
var errUnknownType = errors.New("unknown component type")

func supportedTypes() string {
	var t []string
	for _, k := range kinds {
		t = append(t, k.types()...)
	}
	sort.Strings(t)
	return strings.Join(t, ", ")
}

// defaultComponents are the embedded components skiffd runs on when no
// resources path is given, in a stable order.
func defaultComponents() []resources.Component {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	var comps []resources.Component
	for _, n := range names {
		comps = append(comps, kinds[n].defaults()...)
	}
	return comps
}

// buildComponents creates the components of set, or the embedded defaults
// when no resources path was given.
func buildComponents(o *options, set *resources.Set, m *metrics.Metrics, log *slog.Logger) (*componentSet, error) {
	cs := &componentSet{log: log, appID: o.appID, cm: newComponentMetrics(o.appID, os.Getenv("NAMESPACE"), m)}
	comps := set.Components
	if len(o.resourcesPath) == 0 {
		comps = defaultComponents()
		var names []string
		for _, c := range comps {
			names = append(names, c.Name+" ("+c.Type+")")
		}
		log.Info("no --resources-path: using the embedded in-memory components: " + strings.Join(names, ", "))
	}
	// Secret stores first, so that the others can resolve secretKeyRef.
	order := make([]*resources.Component, 0, len(comps))
	for i := range comps {
		if comps[i].Category() == "secretstores" {
			order = append(order, &comps[i])
		}
	}
	for i := range comps {
		if comps[i].Category() != "secretstores" {
			order = append(order, &comps[i])
		}
	}
	for _, c := range order {
		if err := cs.buildOne(c); err != nil {
			if c.IgnoreErrors {
				log.Warn("component failed to initialise; ignoring it (ignoreErrors)", "component", c.Name, "error", err)
				continue
			}
			cs.close()
			return nil, err
		}
	}
	return cs, nil
}

func (cs *componentSet) buildOne(c *resources.Component) error {
	k, ok := kinds[c.Category()]
	if !ok {
		return fmt.Errorf("%s:%d: component %s: unknown or not yet supported component type %q (supported: %s)", c.File, c.Line, c.Name, c.Type, supportedTypes())
	}
	if c.Version != "" && c.Version != "v1" {
		return fmt.Errorf("%s:%d: component %s: %s has no version %s (only v1)", c.File, c.Line, c.Name, c.Type, c.Version)
	}
	md, err := cs.resolveSecretRefs(c)
	if err != nil {
		return fmt.Errorf("%s:%d: component %s: %w", c.File, c.Line, c.Name, err)
	}
	b, err := k.build(cs, c, md)
	if errors.Is(err, errUnknownType) {
		cs.cm.initFailed(c.Type, "creation", c.Name)
		return fmt.Errorf("%s:%d: component %s: unknown or not yet supported component type %q (supported: %s)", c.File, c.Line, c.Name, c.Type, supportedTypes())
	}
	if err != nil {
		cs.cm.initFailed(c.Type, "init", c.Name)
		return fmt.Errorf("%s:%d: component %s: %w", c.File, c.Line, c.Name, err)
	}
	cs.cm.initialized(c.Type)
	if b.closer != nil {
		cs.closers = append(cs.closers, b.closer)
	}
	if b.ready != nil {
		cs.ready = append(cs.ready, b.ready)
	}
	cs.meta = append(cs.meta, metadata.Component{
		Name: c.Name, Type: c.Type, Version: "v1", Capabilities: b.capabilities,
	})
	cs.log.Info("component loaded", "name", c.Name, "type", c.Type)
	return nil
}

func (cs *componentSet) metadata() []metadata.Component { return cs.meta }

// blockEnv is what the building blocks' wiring needs from the runtime.
type blockEnv struct {
	o         *options
	appPort   int
	maxBody   int64
	namespace string
	set       *resources.Set
	conf      *resources.Configuration // the --config files merged (daprd's defaults when none)
	log       *slog.Logger
	res       *resiliency.Resiliency // the Resiliency documents' policies
	tracer    *tracing.Tracer        // nil: tracing off
	remote    *invoke.Remote         // invocation of other app ids (invoke_remote.go)
}

// routes builds the building blocks over the components and returns their
// routes; it also plugs service invocation's header forms into t.
func (cs *componentSet) routes(env *blockEnv, t *router.Table, probe *func(context.Context) error) ([]router.Route, error) {
	o := env.o
	if env.appPort != 0 {
		ch, err := appchannel.New(appchannel.Config{
			Address:         o.appChannelAddress,
			Port:            env.appPort,
			Protocol:        o.appProtocol,
			MaxConcurrency:  o.appMaxConcurrency,
			AppAPIToken:     os.Getenv("APP_API_TOKEN"),
			MaxResponseBody: env.maxBody, // daprd caps app responses at --max-body-size too
		})
		if err != nil {
			return nil, err
		}
		cs.channel = ch
		cs.closers = append(cs.closers, ch)
		*probe = ch.Probe
		if cs.appHealth, err = cs.newAppHealth(env, ch); err != nil {
			return nil, err
		}
	}
	var routes []router.Route
	for _, f := range []func(*blockEnv) ([]router.Route, error){
		cs.stateRoutes, cs.pubsubRoutes, cs.bindingsRoutes, cs.secretsRoutes,
		cs.configurationRoutes, cs.lockRoutes,
	} {
		r, err := f(env)
		if err != nil {
			return nil, err
		}
		routes = append(routes, r...)
	}
	inv := invoke.New(invoke.Config{
		AppID:         o.appID,
		Namespace:     env.namespace,
		Channel:       cs.channel,
		StripAPIToken: os.Getenv("DAPR_API_TOKEN") != "",
		Policy:        env.res.App(o.appID),
		ReplayLimit:   env.maxBody,
		AppHealthy:    cs.appHealthy(),
		Remote:        env.remote,
	})
	cs.invoker = inv
	routes = append(routes, inv.Routes()...)
	t.Intercept = inv.Intercept(t)
	t.Fallback = inv.Fallback()
	return routes, nil
}

// start runs the blocks' background work (subscriptions, input bindings)
// once the app is reachable; ctx ends at shutdown.
func (cs *componentSet) start(ctx context.Context, env *blockEnv) error {
	for _, f := range []func(context.Context, *blockEnv) error{cs.startAppHealth, cs.startPubsub, cs.startBindings} {
		if err := f(ctx, env); err != nil {
			return err
		}
	}
	return nil
}

func (cs *componentSet) close() {
	var errs []error
	// Last built, first closed: blocks close before the stores they use.
	for i := len(cs.closers) - 1; i >= 0; i-- {
		if err := cs.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	cs.closers = nil
	if err := errors.Join(errs...); err != nil {
		slog.Warn("closing components: " + err.Error())
	}
}

// readiness returns the readiness probe of a component that connects in the
// background (it has a Ready method), for healthz; nil otherwise.
func readiness(v any) func() error {
	if r, ok := v.(interface{ Ready() error }); ok {
		return r.Ready
	}
	return nil
}
