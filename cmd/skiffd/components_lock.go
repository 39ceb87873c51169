package main

import (
	"log/slog"
	"sort"

	"github.com/skiffd/skiff/blocks/lock"
	lockmemory "github.com/skiffd/skiff/blocks/lock/memory"
	lockredis "github.com/skiffd/skiff/blocks/lock/redis"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/router"
)

// lockSet is the distributed lock block's part of the component set.
type lockSet struct {
	locks []lock.StoreEntry
}

// lockFactories is the explicit registry of lock store types.
var lockFactories = map[string]func(name string, md map[string]string) (lock.Store, error){
	// A skiff extension (daprd has no working in-memory lock store).
	"lock.in-memory": func(name string, md map[string]string) (lock.Store, error) { return lockmemory.New(name, md) },
	// Connects lazily: a Redis down at startup does not stop skiffd.
	"lock.redis": func(name string, md map[string]string) (lock.Store, error) {
		return lockredis.New(name, md, slog.Default())
	},
}

func lockTypes() []string {
	var t []string
	for k := range lockFactories {
		t = append(t, k)
	}
	sort.Strings(t)
	return t
}

func (cs *componentSet) buildLock(c *resources.Component, md map[string]string) (built, error) {
	factory, ok := lockFactories[c.Type]
	if !ok {
		return built{}, errUnknownType
	}
	prefix := md["keyPrefix"]
	if _, err := lock.KeyPrefix(prefix, c.Name, ""); err != nil {
		return built{}, err
	}
	store, err := factory(c.Name, md)
	if err != nil {
		return built{}, err
	}
	cs.locks = append(cs.locks, lock.StoreEntry{Name: c.Name, Store: store, KeyPrefix: prefix})
	return built{closer: store, ready: readiness(store)}, nil
}

func (cs *componentSet) lockRoutes(env *blockEnv) ([]router.Route, error) {
	api, err := lock.New(lock.Config{AppID: env.o.appID}, wrapLocks(env.res, cs.locks))
	if err != nil {
		return nil, err
	}
	return api.Routes(), nil
}

func lockDefaults() []resources.Component {
	return []resources.Component{{Name: "lockstore", Type: "lock.in-memory", Version: "v1"}}
}
