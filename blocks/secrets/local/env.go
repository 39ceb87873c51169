package local

import (
	"context"
	"os"
	"strings"
)

// EnvStore is secretstores.local.env: the secrets are the sidecar's
// environment variables, optionally under a prefix (metadata prefix: the
// secret "X" is the variable prefix+"X"). APP_API_TOKEN and DAPR_* are never
// exposed. A variable that is not set reads as an empty value, as in Dapr.
type EnvStore struct {
	prefix  string
	getenv  func(string) string
	environ func() []string
}

// NewEnvStore builds the store from its metadata.
func NewEnvStore(md map[string]string) (*EnvStore, error) {
	p, _ := lookup(md, "prefix")
	return &EnvStore{prefix: p, getenv: os.Getenv, environ: os.Environ}, nil
}

// envAllowed is Dapr's isKeyAllowed.
func envAllowed(key string) bool {
	key = strings.ToUpper(key)
	return key != "APP_API_TOKEN" && !strings.HasPrefix(key, "DAPR_")
}

// GetSecret implements secrets.Store.
func (s *EnvStore) GetSecret(_ context.Context, name string, _ map[string]string) (map[string]string, error) {
	v := ""
	if full := s.prefix + name; envAllowed(full) {
		v = s.getenv(full)
	}
	return map[string]string{name: v}, nil
}

// BulkGetSecret implements secrets.Store: every allowed variable under the
// prefix, named without it.
func (s *EnvStore) BulkGetSecret(context.Context, map[string]string) (map[string]map[string]string, error) {
	env := s.environ()
	out := make(map[string]map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if s.prefix != "" && (len(k) <= len(s.prefix) || k[:len(s.prefix)] != s.prefix) {
			continue
		}
		if !envAllowed(k) {
			continue
		}
		name := k[len(s.prefix):]
		out[name] = map[string]string{name: v}
	}
	return out, nil
}

// Features implements secrets.Store.
func (s *EnvStore) Features() []string { return nil }

// Close implements secrets.Store.
func (s *EnvStore) Close() error { return nil }

// NonBlocking implements secrets.NonBlocking: the environment is in memory.
func (s *EnvStore) NonBlocking() bool { return true }
