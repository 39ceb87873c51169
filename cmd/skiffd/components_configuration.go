package main

import (
	"log/slog"
	"sort"

	"github.com/skiffd/skiff/blocks/configuration"
	configmemory "github.com/skiffd/skiff/blocks/configuration/memory"
	configredis "github.com/skiffd/skiff/blocks/configuration/redis"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/router"
)

// configurationSet is the configuration block's part of the component set.
type configurationSet struct {
	configs []configuration.StoreEntry
}

// configurationFactories is the explicit registry of configuration store types.
var configurationFactories = map[string]func(name string, md map[string]string) (configuration.Store, error){
	// A skiff extension (daprd has no in-memory configuration store).
	"configuration.in-memory": func(name string, md map[string]string) (configuration.Store, error) {
		return configmemory.New(name, md)
	},
	// Connects lazily: a Redis down at startup does not stop skiffd.
	"configuration.redis": func(name string, md map[string]string) (configuration.Store, error) {
		return configredis.New(name, md, slog.Default())
	},
}

func configurationTypes() []string {
	var t []string
	for k := range configurationFactories {
		t = append(t, k)
	}
	sort.Strings(t)
	return t
}

func (cs *componentSet) buildConfiguration(c *resources.Component, md map[string]string) (built, error) {
	factory, ok := configurationFactories[c.Type]
	if !ok {
		return built{}, errUnknownType
	}
	store, err := factory(c.Name, md)
	if err != nil {
		return built{}, err
	}
	cs.configs = append(cs.configs, configuration.StoreEntry{Name: c.Name, Store: store})
	return built{closer: store, ready: readiness(store)}, nil
}

func (cs *componentSet) configurationRoutes(env *blockEnv) ([]router.Route, error) {
	cfg := configuration.Config{Log: env.log}
	if cs.channel != nil {
		cfg.App = configuration.AppChannel{Client: cs.channel}
	}
	api, err := configuration.New(cfg, cs.cm.wrapConfigurations(wrapConfigurations(env.res, cs.configs)))
	if err != nil {
		return nil, err
	}
	// Closed before the stores (closers run last first): subscriptions end
	// at shutdown.
	cs.closers = append(cs.closers, api)
	return api.Routes(), nil
}

func configurationDefaults() []resources.Component {
	return []resources.Component{{Name: "configstore", Type: "configuration.in-memory", Version: "v1"}}
}
