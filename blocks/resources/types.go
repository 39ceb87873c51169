package resources

import (
	"strings"
	"time"
)

// Set is everything read from the resources directories.
type Set struct {
	Components     []Component
	Subscriptions  []Subscription
	Configurations []Configuration
	Resiliencies   []Resiliency
	HTTPEndpoints  []HTTPEndpoint
	// Skipped says, one line each, which resources were left out and why
	// (scopes, namespace, ignoreErrors).
	Skipped []string
	// Warnings are problems that do not stop startup (unknown kinds,
	// non-YAML files, refused envRef).
	Warnings []string
}

// DefaultInitTimeout is how long daprd lets a component initialise when
// spec.initTimeout is absent or invalid.
const DefaultInitTimeout = 5 * time.Second

// Component is one kind: Component document.
type Component struct {
	Name    string
	Type    string // e.g. "state.redis"
	Version string // "v1" when absent
	// Metadata keeps the document's order. Values are final except for items
	// with a SecretKeyRef, which a secret store fills in later.
	Metadata     []MetadataItem
	SecretStore  string // auth.secretStore
	Scopes       []string
	IgnoreErrors bool
	InitTimeout  time.Duration // DefaultInitTimeout when absent or invalid
	Namespace    string        // metadata.namespace, informational in standalone
	File         string        // the file the document came from
	// Line is the line of spec.type, the line an "unknown component type"
	// message should point at.
	Line int
}

// MetadataItem is one spec.metadata entry (or one HTTPEndpoint header).
type MetadataItem struct {
	Name string
	// Value is the stringified value, with envRef resolved and placeholders
	// expanded.
	Value string
	// SecretKeyRef is non-nil when the value comes from a secret store.
	SecretKeyRef *SecretKeyRef
	// EnvRef is the environment variable the value was read from, if any.
	EnvRef string
	Line   int
}

// SecretKeyRef points at a secret: the secret Name in the store, and the Key
// in that secret (daprd uses Name when Key is empty).
type SecretKeyRef struct {
	Name string
	Key  string
}

// SecretKey returns the key to read in the secret: Key, or Name when Key is
// empty, as daprd does.
func (r SecretKeyRef) SecretKey() string {
	if r.Key == "" {
		return r.Name
	}
	return r.Key
}

// Meta returns the metadata as the property map daprd hands a component.
// When a name repeats, the last item wins, as in daprd.
func (c *Component) Meta() map[string]string {
	m := make(map[string]string, len(c.Metadata))
	for _, it := range c.Metadata {
		m[it.Name] = it.Value
	}
	return m
}

// Lookup finds a metadata value by name, ignoring case as Dapr's components
// do when they decode their metadata. An exact match wins over a
// case-insensitive one; among equals the last item wins, as in Meta.
func (c *Component) Lookup(name string) (string, bool) {
	val, found, exact := "", false, false
	for _, it := range c.Metadata {
		switch {
		case it.Name == name:
			val, found, exact = it.Value, true, true
		case !exact && strings.EqualFold(it.Name, name):
			val, found = it.Value, true
		}
	}
	return val, found
}

// categories are the component categories daprd 1.18 can initialise, matched
// as a prefix of spec.type followed by a dot.
var categories = []string{
	"bindings", "configuration", "crypto", "lock", "middleware",
	"pubsub", "secretstores", "state", "conversation",
}

// Category returns the building block a component belongs to ("state",
// "pubsub", "bindings", "secretstores", "configuration", "lock",
// "middleware", "crypto", "conversation"), or "" when spec.type has none of
// these prefixes (daprd then fails with "incorrect type").
func (c *Component) Category() string {
	for _, cat := range categories {
		if strings.HasPrefix(c.Type, cat+".") {
			return cat
		}
	}
	return ""
}

// Subscription is a declarative pub/sub subscription. dapr.io/v1alpha1
// documents are converted to the v2alpha1 shape as daprd does: their route
// becomes Routes.Default.
type Subscription struct {
	Name            string
	APIVersion      string // as written: dapr.io/v1alpha1, dapr.io/v2alpha1 or dapr.io/v1
	PubsubName      string
	Topic           string
	Metadata        map[string]string
	Routes          Routes
	DeadLetterTopic string
	BulkSubscribe   BulkSubscribe
	Scopes          []string
	File            string
	Line            int
}

// Routes are the v2 routing rules: the first rule whose CEL Match accepts an
// event wins, otherwise Default.
type Routes struct {
	Rules   []Rule `yaml:"rules"`
	Default string `yaml:"default"`
}

// Rule sends events matching a CEL expression to Path.
type Rule struct {
	Match string `yaml:"match"`
	Path  string `yaml:"path"`
}

// BulkSubscribe configures bulk delivery.
type BulkSubscribe struct {
	Enabled            bool  `yaml:"enabled"`
	MaxMessagesCount   int32 `yaml:"maxMessagesCount"`
	MaxAwaitDurationMs int32 `yaml:"maxAwaitDurationMs"`
}

// Resiliency is a kind: Resiliency document. Durations stay strings here;
// the resiliency block parses them.
type Resiliency struct {
	Name   string
	Spec   ResiliencySpec
	Scopes []string
	File   string
	Line   int
}

// ResiliencySpec holds named policies and the targets that use them.
type ResiliencySpec struct {
	Policies ResiliencyPolicies `yaml:"policies"`
	Targets  ResiliencyTargets  `yaml:"targets"`
}

// ResiliencyPolicies are the named timeouts, retries and circuit breakers.
type ResiliencyPolicies struct {
	Timeouts        map[string]string         `yaml:"timeouts"`
	Retries         map[string]Retry          `yaml:"retries"`
	CircuitBreakers map[string]CircuitBreaker `yaml:"circuitBreakers"`
}

// Retry is a retry policy.
type Retry struct {
	Policy      string         `yaml:"policy"`
	Duration    string         `yaml:"duration"`
	MaxInterval string         `yaml:"maxInterval"`
	MaxRetries  *int           `yaml:"maxRetries"`
	Matching    *RetryMatching `yaml:"matching"`
}

// RetryMatching limits retries to some status codes (comma-separated lists
// and ranges, as written).
type RetryMatching struct {
	HTTPStatusCodes string `yaml:"httpStatusCodes"`
	GRPCStatusCodes string `yaml:"gRPCStatusCodes"`
}

// CircuitBreaker is a circuit breaker policy.
type CircuitBreaker struct {
	MaxRequests int    `yaml:"maxRequests"`
	Interval    string `yaml:"interval"`
	Timeout     string `yaml:"timeout"`
	Trip        string `yaml:"trip"`
}

// ResiliencyTargets binds policies to apps, actors and components.
type ResiliencyTargets struct {
	Apps       map[string]EndpointPolicyNames  `yaml:"apps"`
	Actors     map[string]ActorPolicyNames     `yaml:"actors"`
	Components map[string]ComponentPolicyNames `yaml:"components"`
}

// EndpointPolicyNames names the policies for calls to an app.
type EndpointPolicyNames struct {
	Timeout                 string `yaml:"timeout"`
	Retry                   string `yaml:"retry"`
	CircuitBreaker          string `yaml:"circuitBreaker"`
	CircuitBreakerCacheSize int    `yaml:"circuitBreakerCacheSize"`
}

// ActorPolicyNames names the policies for an actor type.
type ActorPolicyNames struct {
	Timeout                 string `yaml:"timeout"`
	Retry                   string `yaml:"retry"`
	CircuitBreaker          string `yaml:"circuitBreaker"`
	CircuitBreakerScope     string `yaml:"circuitBreakerScope"`
	CircuitBreakerCacheSize int    `yaml:"circuitBreakerCacheSize"`
}

// ComponentPolicyNames names the policies for a component, per direction.
type ComponentPolicyNames struct {
	Inbound  PolicyNames `yaml:"inbound"`
	Outbound PolicyNames `yaml:"outbound"`
}

// PolicyNames names a timeout, retry and circuit breaker policy.
type PolicyNames struct {
	Timeout        string `yaml:"timeout"`
	Retry          string `yaml:"retry"`
	CircuitBreaker string `yaml:"circuitBreaker"`
}

// HTTPEndpoint is an external service reachable through service invocation.
type HTTPEndpoint struct {
	Name        string
	BaseURL     string
	Headers     []MetadataItem // envRef resolved; no placeholder expansion
	ClientTLS   *ClientTLS
	SecretStore string
	Scopes      []string
	File        string
	Line        int
}

// ClientTLS is the TLS material for calling an HTTPEndpoint.
type ClientTLS struct {
	RootCA        *TLSDocument
	Certificate   *TLSDocument
	PrivateKey    *TLSDocument
	Renegotiation string // Never, OnceAsClient or FreelyAsClient; "" means Never
}

// TLSDocument is PEM text given inline or through a secret.
type TLSDocument struct {
	Value        string
	SecretKeyRef *SecretKeyRef
}
