package main

import (
	"sort"

	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/blocks/state/memory"
	"github.com/skiffd/skiff/blocks/state/postgresql"
	"github.com/skiffd/skiff/blocks/state/redis"
	"github.com/skiffd/skiff/dataplane/router"
)

// stateSet is the state block's part of the component set.
type stateSet struct {
	states []state.StoreEntry
}

// stateFactories is the explicit registry of state store types.
var stateFactories = map[string]func(name string, md map[string]string) (state.Store, error){
	"state.in-memory":  func(name string, md map[string]string) (state.Store, error) { return memory.New(name, md) },
	"state.redis":      redis.New,
	"state.postgresql": postgresql.New,
	"state.postgres":   postgresql.New, // daprd's alias
}

func stateTypes() []string {
	var t []string
	for k := range stateFactories {
		t = append(t, k)
	}
	sort.Strings(t)
	return t
}

func (cs *componentSet) buildState(c *resources.Component, md map[string]string) (built, error) {
	factory, ok := stateFactories[c.Type]
	if !ok {
		return built{}, errUnknownType
	}
	store, err := factory(c.Name, md)
	if err != nil {
		return built{}, err
	}
	prefix, _ := c.Lookup("keyPrefix")
	cs.states = append(cs.states, state.StoreEntry{Name: c.Name, Store: store, KeyPrefix: prefix})
	b := built{closer: store, capabilities: store.Features().Names()}
	if l, ok := store.(*state.Lazy); ok {
		// A backend that is down at startup is retried in the background;
		// healthz names the component until it answers.
		b.ready = l.Ready
	}
	return b, nil
}

func (cs *componentSet) stateRoutes(env *blockEnv) ([]router.Route, error) {
	st, err := state.New(state.Config{AppID: env.o.appID, Namespace: env.namespace}, cs.cm.wrapStates(wrapStates(env.res, cs.states)))
	if err != nil {
		return nil, err
	}
	return st.Routes(), nil
}

func stateDefaults() []resources.Component {
	return []resources.Component{{Name: "statestore", Type: "state.in-memory", Version: "v1"}}
}
