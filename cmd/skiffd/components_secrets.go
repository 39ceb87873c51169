package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/blocks/secrets"
	"github.com/skiffd/skiff/blocks/secrets/local"
	"github.com/skiffd/skiff/dataplane/router"
)

// secretsSet is the secrets block's part of the component set.
type secretsSet struct {
	secretStores []secrets.StoreEntry
}

// secretStoreFactories is the explicit registry of secret store types.
var secretStoreFactories = map[string]func(md map[string]string) (secrets.Store, error){
	"secretstores.local.file": func(md map[string]string) (secrets.Store, error) { return local.NewFileStore(md) },
	"secretstores.local.env":  func(md map[string]string) (secrets.Store, error) { return local.NewEnvStore(md) },
}

func secretStoreTypes() []string {
	var t []string
	for k := range secretStoreFactories {
		t = append(t, k)
	}
	sort.Strings(t)
	return t
}

func (cs *componentSet) buildSecretStore(c *resources.Component, md map[string]string) (built, error) {
	factory, ok := secretStoreFactories[c.Type]
	if !ok {
		return built{}, errUnknownType
	}
	for _, s := range cs.secretStores {
		if s.Name == c.Name {
			return built{}, fmt.Errorf("a secret store named %s is already defined", c.Name)
		}
	}
	store, err := factory(md)
	if err != nil {
		return built{}, err
	}
	cs.secretStores = append(cs.secretStores, secrets.StoreEntry{Name: c.Name, Store: store})
	return built{closer: store, capabilities: store.Features()}, nil
}

func (cs *componentSet) secretsRoutes(env *blockEnv) ([]router.Route, error) {
	api, err := secrets.New(cs.cm.wrapSecretStores(wrapSecretStores(env.res, cs.secretStores)), env.conf)
	if err != nil {
		return nil, err
	}
	return api.Routes(), nil
}

// resolveSecretRefs returns c's metadata with every secretKeyRef filled in
// from the secret store named by auth.secretStore. Outside Kubernetes daprd
// has no default store (it uses "kubernetes" only there): without
// auth.secretStore, or with a store that is not loaded, daprd waits for the
// store forever and the component never starts. skiffd stops instead, with
// the file and line of the reference, and also when the secret or its key is
// missing (daprd logs those and leaves the value empty).
func (cs *componentSet) resolveSecretRefs(c *resources.Component) (map[string]string, error) {
	md := c.Meta()
	var store secrets.Store
	cache := map[string]map[string]string{}
	for _, m := range c.Metadata {
		ref := m.SecretKeyRef
		if ref == nil || ref.Name == "" {
			continue
		}
		where := fmt.Sprintf("metadata %s (line %d)", m.Name, m.Line)
		if store == nil {
			if c.SecretStore == "" {
				return nil, fmt.Errorf("%s uses secretKeyRef %s but the component has no auth.secretStore (outside Kubernetes there is no default secret store)", where, ref.Name)
			}
			for _, s := range cs.secretStores {
				if s.Name == c.SecretStore {
					store = s.Store
				}
			}
			if store == nil {
				return nil, fmt.Errorf("%s: auth.secretStore %s is not a loaded secret store (loaded: %s)", where, c.SecretStore, cs.secretStoreNames())
			}
		}
		data, ok := cache[ref.Name]
		if !ok {
			timeout := c.InitTimeout
			if timeout <= 0 {
				timeout = resources.DefaultInitTimeout
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			var err error
			data, err = store.GetSecret(ctx, ref.Name, map[string]string{"namespace": c.Namespace})
			cancel()
			if err != nil {
				return nil, fmt.Errorf("%s: secret %s from secret store %s: %w", where, ref.Name, c.SecretStore, err)
			}
			cache[ref.Name] = data
		}
		key := ref.SecretKey()
		val, ok := data[key]
		if !ok || val == "" {
			return nil, fmt.Errorf("%s: secret %s in secret store %s has no (or an empty) key %s", where, ref.Name, c.SecretStore, key)
		}
		md[m.Name] = val
	}
	return md, nil
}

func (cs *componentSet) secretStoreNames() string {
	if len(cs.secretStores) == 0 {
		return "none"
	}
	n := make([]string, 0, len(cs.secretStores))
	for _, s := range cs.secretStores {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}

func secretStoreDefaults() []resources.Component { return nil }
