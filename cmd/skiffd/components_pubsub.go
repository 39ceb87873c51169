package main

import (
	"context"
	"maps"
	"sort"
	"strings"

	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/pubsub/jetstream"
	"github.com/skiffd/skiff/blocks/pubsub/memory"
	"github.com/skiffd/skiff/blocks/pubsub/mqtt3"
	"github.com/skiffd/skiff/blocks/pubsub/rabbitmq"
	psredis "github.com/skiffd/skiff/blocks/pubsub/redis"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/router"
)

// pubsubSet is the pub/sub block's part of the component set.
type pubsubSet struct {
	pubsubs   []pubsub.Entry
	pubsubAPI *pubsub.API
}

// pubsubFactories is the explicit registry of pub/sub component types.
var pubsubFactories = map[string]func(name string, md map[string]string) (pubsub.PubSub, error){
	"pubsub.in-memory": func(name string, md map[string]string) (pubsub.PubSub, error) { return memory.New(name, md) },
	"pubsub.redis":     func(name string, md map[string]string) (pubsub.PubSub, error) { return psredis.New(name, md, nil) },
	"pubsub.jetstream": func(name string, md map[string]string) (pubsub.PubSub, error) { return jetstream.New(name, md, nil) },
	"pubsub.rabbitmq":  func(name string, md map[string]string) (pubsub.PubSub, error) { return rabbitmq.New(name, md, nil) },
	"pubsub.mqtt3":     func(name string, md map[string]string) (pubsub.PubSub, error) { return mqtt3.New(name, md, nil) },
}

func consumerID(md map[string]string) string {
	for k, v := range md {
		if strings.EqualFold(k, "consumerID") {
			return v
		}
	}
	return ""
}

func pubsubTypes() []string {
	var t []string
	for k := range pubsubFactories {
		t = append(t, k)
	}
	sort.Strings(t)
	return t
}

func (cs *componentSet) buildPubsub(c *resources.Component, md map[string]string) (built, error) {
	factory, ok := pubsubFactories[c.Type]
	if !ok {
		return built{}, errUnknownType
	}
	if consumerID(md) == "" && cs.appID != "" {
		// daprd gives every pub/sub component consumerID = the app id.
		md = maps.Clone(md)
		if md == nil {
			md = map[string]string{}
		}
		md["consumerID"] = cs.appID
	}
	ps, err := factory(c.Name, md)
	if err != nil {
		return built{}, err
	}
	cs.pubsubs = append(cs.pubsubs, pubsub.Entry{Name: c.Name, Type: c.Type, Component: ps, Metadata: md})
	return built{closer: ps, capabilities: ps.Features().Names(), ready: readiness(ps)}, nil
}

func (cs *componentSet) pubsubRoutes(env *blockEnv) ([]router.Route, error) {
	api, err := pubsub.New(pubsub.Config{AppID: env.o.appID, Log: env.log, Tracer: env.deliveryTracer()}, cs.cm.wrapPubsubs(wrapPubsubs(env.res, cs.pubsubs)))
	if err != nil {
		return nil, err
	}
	cs.pubsubAPI = api
	return api.Routes(), nil
}

// startPubsub subscribes the app (GET /dapr/subscribe and the declarative
// Subscriptions) once it is reachable; delivery lasts until ctx ends.
func (cs *componentSet) startPubsub(ctx context.Context, env *blockEnv) error {
	if cs.pubsubAPI == nil {
		return nil
	}
	var app pubsub.App
	var pipe *pubsub.PipeTarget
	if cs.channel != nil {
		app = cs.deliveryApp()
		// Pipelined delivery keeps per-topic order with many messages in
		// flight; with --app-max-concurrency, deliveries take the app
		// channel's slots one at a time instead. The pipe has its own
		// connections, so it is not used when app health checks must be
		// able to pause deliveries (the gated channel does that).
		if st := cs.channel.Settings(); st.MaxConcurrency <= 0 && cs.appHealth == nil {
			pipe = &pubsub.PipeTarget{Addr: cs.channel.Addr(), APIToken: st.AppAPIToken}
		}
	}
	if cs.appHealth != nil {
		// Subscribing waits for a healthy app; readiness must not.
		go cs.pubsubAPI.Start(ctx, app, env.set.Subscriptions, pipe)
		return nil
	}
	cs.pubsubAPI.Start(ctx, app, env.set.Subscriptions, pipe)
	return nil
}

// pubsubSubscriptions lists the active subscriptions for GET /v1.0/metadata.
func (cs *componentSet) pubsubSubscriptions() any {
	if cs.pubsubAPI == nil {
		return []any{}
	}
	return cs.pubsubAPI.Subscriptions()
}

func pubsubDefaults() []resources.Component {
	return []resources.Component{{Name: "pubsub", Type: "pubsub.in-memory", Version: "v1"}}
}
