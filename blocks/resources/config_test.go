package resources

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfiguration(t *testing.T) {
	t.Setenv("SKIFF_TEST_ZIPKIN", "http://zipkin:9411/api/v2/spans")
	p := writeFile(t, "config.yaml", `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: daprConfig
spec:
  tracing:
    samplingRate: "1"
    zipkin:
      endpointAddress: ${SKIFF_TEST_ZIPKIN}
  metric:
    enabled: false
  metrics:
    recordErrorCodes: true
  accessControl:
    defaultAction: deny
    policies:
    - appId: app1
      defaultAction: allow
      operations:
      - name: /op1
        httpVerb: ['POST', 'GET']
        action: deny
  api:
    allowed:
    - name: state
      version: v1.0
      protocol: http
    denied:
    - name: invoke
      version: v1.0
      protocol: grpc
  secrets:
    scopes:
    - storeName: local
      defaultAccess: deny
      allowedSecrets: ["z", "a"]
    - storeName: other
      deniedSecrets: ["x"]
  features:
  - name: HotReload
    enabled: true
  - name: Off
    enabled: false
  nameResolution:
    component: mdns
    configuration:
      selfRegister: true
  components:
    deny:
    - bindings.smtp
  appHttpPipeline:
    handlers:
    - name: upper
      type: middleware.http.uppercase
`)
	c, err := LoadConfiguration(p)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Spec
	if c.Name != "daprConfig" || s.Tracing.SamplingRate != "1" || s.Tracing.Zipkin.EndpointAddress != "http://zipkin:9411/api/v2/spans" {
		t.Fatalf("tracing %+v", s.Tracing)
	}
	if s.Tracing.Otel == nil || s.Tracing.Otel.IsSecure == nil || !*s.Tracing.Otel.IsSecure {
		t.Fatal("the default otel.isSecure must survive a file that sets other tracing fields")
	}
	if *s.Metric.Enabled || s.Metric.RecordErrorCodes == nil || !*s.Metric.RecordErrorCodes {
		t.Fatalf(".metrics folds into .metric: %+v", s.Metric)
	}
	acl := s.AccessControl
	if acl.DefaultAction != "deny" || acl.TrustDomain != "public" || acl.Policies[0].AppID != "app1" ||
		!slices.Equal(acl.Policies[0].Operations[0].HTTPVerb, []string{"POST", "GET"}) {
		t.Fatalf("acl %+v", acl)
	}
	if s.API.Allowed[0] != (APIAccessRule{Name: "state", Version: "v1.0", Protocol: "http"}) || s.API.Denied[0].Protocol != "grpc" {
		t.Fatalf("api %+v", s.API)
	}
	local, other := s.Secrets.Scopes[0], s.Secrets.Scopes[1]
	if !slices.Equal(local.AllowedSecrets, []string{"a", "z"}) || !local.IsSecretAllowed("a") || local.IsSecretAllowed("b") {
		t.Fatalf("local scope %+v", local)
	}
	if other.IsSecretAllowed("x") || !other.IsSecretAllowed("y") {
		t.Fatalf("other scope %+v", other)
	}
	if !slices.Equal(c.EnabledFeatures(), []string{"HotReload"}) || c.IsFeatureEnabled("Off") {
		t.Fatalf("features %v", c.EnabledFeatures())
	}
	if s.NameResolution["component"] != "mdns" || !slices.Equal(s.Components.Deny, []string{"bindings.smtp"}) ||
		s.AppHTTPPipeline.Handlers[0].Type != "middleware.http.uppercase" {
		t.Fatalf("spec %+v", s)
	}
}

func TestDefaultConfiguration(t *testing.T) {
	c, err := LoadConfiguration(writeFile(t, "empty.yaml", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !*c.Spec.Metric.Enabled || c.Spec.AccessControl.DefaultAction != "allow" || c.Spec.AccessControl.TrustDomain != "public" {
		t.Fatalf("defaults %+v", c.Spec)
	}
}

func TestLoadConfigurationsLayers(t *testing.T) {
	a := writeFile(t, "a.yaml", "spec:\n  tracing:\n    samplingRate: \"0.5\"\n  features:\n  - name: A\n    enabled: true\n")
	b := writeFile(t, "b.yaml", "spec:\n  tracing:\n    stdout: true\n  features:\n  - name: B\n    enabled: true\n")
	c, err := LoadConfigurations([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if c.Spec.Tracing.SamplingRate != "0.5" || !c.Spec.Tracing.Stdout {
		t.Fatalf("later files add to earlier ones: %+v", c.Spec.Tracing)
	}
	if !slices.Equal(c.EnabledFeatures(), []string{"B"}) {
		t.Fatalf("a later list replaces an earlier one: %v", c.EnabledFeatures())
	}
}

func TestLoadConfigurationErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	if _, err := LoadConfiguration(missing); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
	p := writeFile(t, "bad.yaml", "spec:\n  features: yes\n")
	_, err := LoadConfiguration(p)
	if err == nil || !strings.HasSuffix(err.Error(), "bad.yaml:2: cannot unmarshal !!str `yes` into []resources.FeatureSpec") {
		t.Fatalf("type error: %v", err)
	}
	p = writeFile(t, "syntax.yaml", "spec:\n  tracing: [\n")
	if _, err = LoadConfiguration(p); err == nil || !strings.Contains(err.Error(), "syntax.yaml:") {
		t.Fatalf("syntax error: %v", err)
	}
	p = writeFile(t, "dup.yaml", "spec:\n  secrets:\n    scopes:\n    - storeName: s\n    - storeName: s\n")
	if _, err = LoadConfiguration(p); err == nil || !strings.HasSuffix(err.Error(), "s storeName is repeated in secrets configuration") {
		t.Fatalf("repeated store: %v", err)
	}
	p = writeFile(t, "access.yaml", "spec:\n  secrets:\n    scopes:\n    - storeName: s\n      defaultAccess: maybe\n")
	if _, err = LoadConfiguration(p); err == nil || !strings.HasSuffix(err.Error(), "defaultAccess maybe can be either allow or deny") {
		t.Fatalf("bad defaultAccess: %v", err)
	}
}
