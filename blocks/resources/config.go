package resources

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Configuration is a kind: Configuration resource: a --config file, or a
// Configuration document found in a resources directory.
type Configuration struct {
	Name      string
	Namespace string
	Spec      ConfigurationSpec
	File      string
	Line      int
}

// ConfigurationSpec mirrors daprd's configuration spec. Parts no block uses
// yet are kept as raw YAML values (maps, lists, strings).
type ConfigurationSpec struct {
	HTTPPipeline    *PipelineSpec `yaml:"httpPipeline"`
	AppHTTPPipeline *PipelineSpec `yaml:"appHttpPipeline"`
	Tracing         *TracingSpec  `yaml:"tracing"`
	MTLS            *MTLSSpec     `yaml:"mtls"`
	Metric          *MetricSpec   `yaml:"metric"`
	// Metrics is the newer spelling; LoadConfiguration folds it into Metric.
	Metrics        *MetricSpec        `yaml:"metrics"`
	Secrets        *SecretsSpec       `yaml:"secrets"`
	AccessControl  *AccessControlSpec `yaml:"accessControl"`
	NameResolution map[string]any     `yaml:"nameResolution"`
	Features       []FeatureSpec      `yaml:"features"`
	API            *APISpec           `yaml:"api"`
	Components     *ComponentsSpec    `yaml:"components"`
	Logging        *LoggingSpec       `yaml:"logging"`
	Wasm           *WasmSpec          `yaml:"wasm"`
	Workflow       map[string]any     `yaml:"workflow"`
}

// PipelineSpec lists middleware handlers, applied in order.
type PipelineSpec struct {
	Handlers []HandlerSpec `yaml:"handlers"`
}

// HandlerSpec names a middleware component.
type HandlerSpec struct {
	Name     string       `yaml:"name"`
	Type     string       `yaml:"type"`
	Version  string       `yaml:"version"`
	Selector SelectorSpec `yaml:"selector"`
}

// SelectorSpec restricts a handler to requests with these field values.
type SelectorSpec struct {
	Fields []SelectorField `yaml:"fields"`
}

// SelectorField is one field/value condition.
type SelectorField struct {
	Field string `yaml:"field"`
	Value string `yaml:"value"`
}

// TracingSpec configures distributed tracing.
type TracingSpec struct {
	SamplingRate string      `yaml:"samplingRate"`
	Stdout       bool        `yaml:"stdout"`
	Zipkin       *ZipkinSpec `yaml:"zipkin"`
	Otel         *OtelSpec   `yaml:"otel"`
}

// ZipkinSpec configures the Zipkin exporter.
type ZipkinSpec struct {
	EndpointAddress string `yaml:"endpointAddress"`
}

// OtelSpec configures the OpenTelemetry exporter.
type OtelSpec struct {
	Protocol        string `yaml:"protocol"`
	EndpointAddress string `yaml:"endpointAddress"`
	IsSecure        *bool  `yaml:"isSecure"` // true when nil
	Headers         string `yaml:"headers"`
	Timeout         int    `yaml:"timeout"` // milliseconds
}

// MTLSSpec configures mTLS (accepted; skiff has no control plane yet).
type MTLSSpec struct {
	Enabled                 bool   `yaml:"enabled"`
	WorkloadCertTTL         string `yaml:"workloadCertTTL"`
	AllowedClockSkew        string `yaml:"allowedClockSkew"`
	SentryAddress           string `yaml:"sentryAddress"`
	ControlPlaneTrustDomain string `yaml:"controlPlaneTrustDomain"`
	TokenValidators         []any  `yaml:"tokenValidators"`
}

// MetricSpec configures metrics.
type MetricSpec struct {
	Enabled                    *bool         `yaml:"enabled"` // true when nil
	RecordErrorCodes           *bool         `yaml:"recordErrorCodes"`
	HTTP                       *MetricHTTP   `yaml:"http"`
	LatencyDistributionBuckets *[]int        `yaml:"latencyDistributionBuckets"`
	Rules                      []MetricsRule `yaml:"rules"`
}

// MetricHTTP configures HTTP server metrics.
type MetricHTTP struct {
	IncreasedCardinality *bool    `yaml:"increasedCardinality"`
	PathMatching         []string `yaml:"pathMatching"`
	ExcludeVerbs         *bool    `yaml:"excludeVerbs"`
}

// MetricsRule rewrites a metric's labels.
type MetricsRule struct {
	Name   string        `yaml:"name"`
	Labels []MetricLabel `yaml:"labels"`
}

// MetricLabel maps label values to replacement regexes.
type MetricLabel struct {
	Name  string            `yaml:"name"`
	Regex map[string]string `yaml:"regex"`
}

// SecretsSpec limits what each secret store exposes.
type SecretsSpec struct {
	Scopes []SecretsScope `yaml:"scopes"`
}

// SecretsScope is the access rule for one secret store. After loading,
// AllowedSecrets and DeniedSecrets are sorted.
type SecretsScope struct {
	DefaultAccess  string   `yaml:"defaultAccess"`
	StoreName      string   `yaml:"storeName"`
	AllowedSecrets []string `yaml:"allowedSecrets"`
	DeniedSecrets  []string `yaml:"deniedSecrets"`
}

// IsSecretAllowed applies daprd's rule: a non-empty allow list decides
// alone; otherwise the deny list, then defaultAccess (allow by default).
func (s SecretsScope) IsSecretAllowed(key string) bool {
	if len(s.AllowedSecrets) > 0 {
		return containsSorted(s.AllowedSecrets, key)
	}
	if containsSorted(s.DeniedSecrets, key) {
		return false
	}
	return !strings.EqualFold(s.DefaultAccess, "deny")
}

func containsSorted(list []string, key string) bool {
	i := sort.SearchStrings(list, key)
	return i < len(list) && list[i] == key
}

// AccessControlSpec is the service invocation access control list.
type AccessControlSpec struct {
	DefaultAction string          `yaml:"defaultAction"`
	TrustDomain   string          `yaml:"trustDomain"`
	Policies      []AppPolicySpec `yaml:"policies"`
}

// AppPolicySpec is the access policy for calls from one app.
type AppPolicySpec struct {
	AppID         string         `yaml:"appId"`
	DefaultAction string         `yaml:"defaultAction"`
	TrustDomain   string         `yaml:"trustDomain"`
	Namespace     string         `yaml:"namespace"`
	Operations    []AppOperation `yaml:"operations"`
}

// AppOperation allows or denies an operation (a path pattern) per verb.
type AppOperation struct {
	Name     string   `yaml:"name"`
	HTTPVerb []string `yaml:"httpVerb"`
	Action   string   `yaml:"action"`
}

// FeatureSpec turns a preview feature on or off.
type FeatureSpec struct {
	Name    string `yaml:"name"`
	Enabled bool   `yaml:"enabled"`
}

// APISpec holds the API allow and deny lists.
type APISpec struct {
	Allowed []APIAccessRule `yaml:"allowed"`
	Denied  []APIAccessRule `yaml:"denied"`
}

// APIAccessRule names an API: e.g. name "state", version "v1.0", protocol
// "http" or "grpc".
type APIAccessRule struct {
	Name     string `yaml:"name"`
	Version  string `yaml:"version"`
	Protocol string `yaml:"protocol"`
}

// ComponentsSpec configures components globally.
type ComponentsSpec struct {
	Deny []string `yaml:"deny"` // component types that may not be created
}

// LoggingSpec configures logging.
type LoggingSpec struct {
	APILogging *APILoggingSpec `yaml:"apiLogging"`
}

// APILoggingSpec configures API call logging.
type APILoggingSpec struct {
	Enabled          bool `yaml:"enabled"`
	ObfuscateURLs    bool `yaml:"obfuscateURLs"`
	OmitHealthChecks bool `yaml:"omitHealthChecks"`
}

// WasmSpec configures Wasm components.
type WasmSpec struct {
	StrictSandbox bool `yaml:"strictSandbox"`
}

// EnabledFeatures lists the features turned on, in file order.
func (c *Configuration) EnabledFeatures() []string {
	var out []string
	for _, f := range c.Spec.Features {
		if f.Enabled && f.Name != "" && !slices.Contains(out, f.Name) {
			out = append(out, f.Name)
		}
	}
	return out
}

// IsFeatureEnabled reports whether the named feature is turned on.
func (c *Configuration) IsFeatureEnabled(name string) bool {
	return slices.Contains(c.EnabledFeatures(), name)
}

// DefaultConfiguration is daprd's configuration when no --config is given:
// secure OTel export, metrics on, access control allowing all in trust
// domain "public".
func DefaultConfiguration() *Configuration {
	// Two variables: files decode into these pointers, so they must not alias.
	secure, metrics := true, true
	return &Configuration{Spec: ConfigurationSpec{
		Tracing:       &TracingSpec{Otel: &OtelSpec{IsSecure: &secure}},
		Metric:        &MetricSpec{Enabled: &metrics},
		AccessControl: &AccessControlSpec{DefaultAction: "allow", TrustDomain: "public"},
	}}
}

// LoadConfiguration reads one --config file on top of the defaults.
func LoadConfiguration(path string) (*Configuration, error) {
	return LoadConfigurations([]string{path})
}

// LoadConfigurations reads --config files the way daprd does: each file,
// after $VAR and ${VAR} are replaced from the environment, is decoded on top
// of the defaults and of the files before it; then .metrics is folded into
// .metric and the secret scopes are checked and sorted.
func LoadConfigurations(paths []string) (*Configuration, error) {
	conf := DefaultConfiguration()
	for _, path := range paths {
		if err := decodeConfigFile(path, conf); err != nil {
			return nil, err
		}
	}
	conf.File = strings.Join(paths, ", ")
	if err := conf.validateSecrets(); err != nil {
		return nil, &Error{File: conf.File, Msg: err.Error()}
	}
	conf.foldMetrics()
	return conf, nil
}

// configFile is the shape of a --config file: yaml.v3, case-sensitive keys.
type configFile struct {
	Metadata struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec *ConfigurationSpec `yaml:"spec"`
}

func decodeConfigFile(path string, conf *Configuration) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return &Error{File: path, Msg: err.Error()}
	}
	b = []byte(os.ExpandEnv(string(b)))
	var doc yaml.Node
	// daprd reads only the first document of a --config file.
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file changes nothing
		}
		return fileError(path, err)
	}
	f := configFile{Spec: &conf.Spec}
	f.Metadata.Name, f.Metadata.Namespace = conf.Name, conf.Namespace
	if err := doc.Decode(&f); err != nil {
		return fileError(path, err)
	}
	conf.Name, conf.Namespace = f.Metadata.Name, f.Metadata.Namespace
	conf.Line = 1
	return nil
}

// validateSecrets applies daprd's checks, with its messages, and sorts the
// lists so IsSecretAllowed can search them.
func (c *Configuration) validateSecrets() error {
	if c.Spec.Secrets == nil {
		return nil
	}
	seen := make(map[string]bool)
	for i := range c.Spec.Secrets.Scopes {
		s := &c.Spec.Secrets.Scopes[i]
		if seen[s.StoreName] {
			return fmt.Errorf("%s storeName is repeated in secrets configuration", s.StoreName)
		}
		if s.DefaultAccess != "" && !strings.EqualFold(s.DefaultAccess, "allow") && !strings.EqualFold(s.DefaultAccess, "deny") {
			return fmt.Errorf("defaultAccess %s can be either allow or deny", s.DefaultAccess)
		}
		seen[s.StoreName] = true
		sort.Strings(s.AllowedSecrets)
		sort.Strings(s.DeniedSecrets)
	}
	return nil
}

// foldMetrics lets the fields set under .metrics override .metric, as
// daprd does.
func (c *Configuration) foldMetrics() {
	m := c.Spec.Metrics
	if m == nil {
		return
	}
	if c.Spec.Metric == nil {
		c.Spec.Metric = &MetricSpec{}
	}
	if m.Enabled != nil {
		c.Spec.Metric.Enabled = m.Enabled
	}
	if len(m.Rules) > 0 {
		c.Spec.Metric.Rules = m.Rules
	}
	if m.HTTP != nil {
		c.Spec.Metric.HTTP = m.HTTP
	}
	if m.LatencyDistributionBuckets != nil {
		c.Spec.Metric.LatencyDistributionBuckets = m.LatencyDistributionBuckets
	}
	if m.RecordErrorCodes != nil {
		c.Spec.Metric.RecordErrorCodes = m.RecordErrorCodes
	}
}
