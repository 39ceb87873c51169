package resources

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// rawItem decodes one name/value pair (a metadata item or a header). It
// matches its keys itself, ignoring case like encoding/json.
type rawItem struct {
	name     string
	value    string
	hasValue bool // a non-null value was written; envRef applies otherwise
	secret   *SecretKeyRef
	envRef   string
	line     int
}

func (r *rawItem) UnmarshalYAML(n *yaml.Node) error {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	r.line = n.Line
	if n.Kind != yaml.MappingNode {
		return errorf(n.Line, "a metadata item must be a mapping with name and value")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		var err error
		switch {
		case strings.EqualFold(k, "name"):
			err = v.Decode(&r.name)
		case strings.EqualFold(k, "value"):
			r.value, r.hasValue, err = stringify(v)
		case strings.EqualFold(k, "envRef"):
			err = v.Decode(&r.envRef)
		case strings.EqualFold(k, "secretKeyRef"):
			var ref SecretKeyRef
			foldKeys(v, reflect.TypeOf(ref))
			if err = v.Decode(&ref); err == nil && ref.Name != "" {
				r.secret = &ref // daprd ignores a reference without a name
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// items turns decoded pairs into MetadataItems, resolving envRef as daprd
// does: only when no value is written, and only for allowed variables.
func (l *loader) items(file, what string, raw []rawItem) ([]MetadataItem, error) {
	out := make([]MetadataItem, 0, len(raw))
	for i, it := range raw {
		if it.name == "" {
			return nil, errorf(it.line, "%s[%d]: name is missing", what, i)
		}
		mi := MetadataItem{Name: it.name, Value: it.value, SecretKeyRef: it.secret, EnvRef: it.envRef, Line: it.line}
		if !it.hasValue && it.envRef != "" {
			if l.opts.envAllowed(it.envRef) {
				mi.Value = l.opts.getenv(it.envRef)
			} else {
				l.warnf("%s:%d: %s %s: envRef %s is not an allowed environment variable, value left empty",
					file, it.line, what, it.name, it.envRef)
			}
		}
		out = append(out, mi)
	}
	return out, nil
}

type componentDoc struct {
	Spec struct {
		Type         string    `yaml:"type"`
		Version      string    `yaml:"version"`
		IgnoreErrors bool      `yaml:"ignoreErrors"`
		InitTimeout  string    `yaml:"initTimeout"`
		Metadata     []rawItem `yaml:"metadata"`
	} `yaml:"spec"`
	Auth struct {
		SecretStore string `yaml:"secretStore"`
	} `yaml:"auth"`
	Scopes []string `yaml:"scopes"`
}

func (l *loader) component(file string, root *yaml.Node, h header) error {
	var d componentDoc
	foldKeys(root, reflect.TypeOf(d))
	if err := root.Decode(&d); err != nil {
		return err
	}
	if !l.inScope(d.Scopes) {
		l.skipScope(file, root.Line, "Component", h.Metadata.Name, d.Scopes)
		return nil
	}
	_, line := find(root, "spec", "type")
	if d.Spec.Type == "" {
		return errorf(line, "spec.type is missing")
	}
	c := Component{
		Name:         h.Metadata.Name,
		Type:         d.Spec.Type,
		Version:      d.Spec.Version,
		SecretStore:  d.Auth.SecretStore,
		Scopes:       d.Scopes,
		IgnoreErrors: d.Spec.IgnoreErrors,
		InitTimeout:  DefaultInitTimeout,
		Namespace:    h.Metadata.Namespace,
		File:         file,
		Line:         line,
	}
	if c.Version == "" {
		c.Version = "v1"
	}
	if s := d.Spec.InitTimeout; s != "" {
		t, err := time.ParseDuration(s)
		if err != nil || t <= 0 {
			_, tl := find(root, "spec", "initTimeout")
			l.warnf("%s:%d: component %s: invalid spec.initTimeout %q, using %s", file, tl, c.Name, s, DefaultInitTimeout)
		} else {
			c.InitTimeout = t
		}
	}
	items, err := l.items(file, "spec.metadata", d.Spec.Metadata)
	if err != nil {
		return err
	}
	for i := range items {
		v, err := l.opts.Expand(items[i].Name, items[i].Value)
		if err != nil {
			// daprd fails this component's init; ignoreErrors lets it go.
			if c.IgnoreErrors {
				l.skipf("%s:%d: Component %s skipped (ignoreErrors): %v", file, items[i].Line, c.Name, err)
				return nil
			}
			return errorf(items[i].Line, "%v", err)
		}
		items[i].Value = v
	}
	c.Metadata = items
	l.set.Components = append(l.set.Components, c)
	return nil
}

type subscriptionDoc struct {
	Spec struct {
		Topic           string            `yaml:"topic"`
		Pubsubname      string            `yaml:"pubsubname"`
		Metadata        map[string]string `yaml:"metadata"`
		Route           string            `yaml:"route"`  // v1alpha1
		Routes          Routes            `yaml:"routes"` // v2alpha1 and v1
		DeadLetterTopic string            `yaml:"deadLetterTopic"`
		BulkSubscribe   BulkSubscribe     `yaml:"bulkSubscribe"`
	} `yaml:"spec"`
	Scopes []string `yaml:"scopes"`
}

func (l *loader) subscription(file string, root *yaml.Node, h header) error {
	var d subscriptionDoc
	foldKeys(root, reflect.TypeOf(d))
	if err := root.Decode(&d); err != nil {
		return err
	}
	if !l.inScope(d.Scopes) {
		l.skipScope(file, root.Line, "Subscription", h.Metadata.Name, d.Scopes)
		return nil
	}
	s := Subscription{
		Name:            h.Metadata.Name,
		APIVersion:      h.APIVersion,
		PubsubName:      d.Spec.Pubsubname,
		Topic:           d.Spec.Topic,
		Metadata:        d.Spec.Metadata,
		Routes:          d.Spec.Routes,
		DeadLetterTopic: d.Spec.DeadLetterTopic,
		BulkSubscribe:   d.Spec.BulkSubscribe,
		Scopes:          d.Scopes,
		File:            file,
		Line:            root.Line,
	}
	if h.APIVersion == "dapr.io/v1alpha1" {
		// daprd converts v1alpha1 to v2alpha1: the single route becomes the
		// default, and v1alpha1 has no routes field to read.
		s.Routes = Routes{Default: d.Spec.Route}
	}
	l.set.Subscriptions = append(l.set.Subscriptions, s)
	return nil
}

type configurationDoc struct {
	Spec ConfigurationSpec `yaml:"spec"`
}

func (l *loader) configuration(file string, root *yaml.Node, h header) error {
	var d configurationDoc
	foldKeys(root, reflect.TypeOf(d))
	if err := root.Decode(&d); err != nil {
		return err
	}
	l.set.Configurations = append(l.set.Configurations, Configuration{
		Name:      h.Metadata.Name,
		Namespace: h.Metadata.Namespace,
		Spec:      d.Spec,
		File:      file,
		Line:      root.Line,
	})
	return nil
}

type resiliencyDoc struct {
	Spec   ResiliencySpec `yaml:"spec"`
	Scopes []string       `yaml:"scopes"`
}

func (l *loader) resiliency(file string, root *yaml.Node, h header) error {
	var d resiliencyDoc
	foldKeys(root, reflect.TypeOf(d))
	if err := root.Decode(&d); err != nil {
		return err
	}
	if !l.inScope(d.Scopes) {
		l.skipScope(file, root.Line, "Resiliency", h.Metadata.Name, d.Scopes)
		return nil
	}
	l.set.Resiliencies = append(l.set.Resiliencies, Resiliency{
		Name:   h.Metadata.Name,
		Spec:   d.Spec,
		Scopes: d.Scopes,
		File:   file,
		Line:   root.Line,
	})
	return nil
}

// rawTLSDocument decodes a TLS document whose value may be any YAML.
type rawTLSDocument struct {
	Value        rawValue      `yaml:"value"`
	SecretKeyRef *SecretKeyRef `yaml:"secretKeyRef"`
}

// rawValue is a value stringified as daprd does.
type rawValue struct{ s string }

func (r *rawValue) UnmarshalYAML(n *yaml.Node) error {
	var err error
	r.s, _, err = stringify(n)
	return err
}

type httpEndpointDoc struct {
	Spec struct {
		BaseURL   string    `yaml:"baseUrl"`
		Headers   []rawItem `yaml:"headers"`
		ClientTLS *struct {
			RootCA        *rawTLSDocument `yaml:"rootCA"`
			Certificate   *rawTLSDocument `yaml:"certificate"`
			PrivateKey    *rawTLSDocument `yaml:"privateKey"`
			Renegotiation string          `yaml:"renegotiation"`
		} `yaml:"clientTLS"`
	} `yaml:"spec"`
	Auth struct {
		SecretStore string `yaml:"secretStore"`
	} `yaml:"auth"`
	Scopes []string `yaml:"scopes"`
}

func (l *loader) httpEndpoint(file string, root *yaml.Node, h header) error {
	var d httpEndpointDoc
	foldKeys(root, reflect.TypeOf(d))
	if err := root.Decode(&d); err != nil {
		return err
	}
	if !l.inScope(d.Scopes) {
		l.skipScope(file, root.Line, "HTTPEndpoint", h.Metadata.Name, d.Scopes)
		return nil
	}
	if d.Spec.BaseURL == "" {
		_, line := find(root, "spec", "baseUrl")
		return errorf(line, "spec.baseUrl is missing")
	}
	headers, err := l.items(file, "spec.headers", d.Spec.Headers)
	if err != nil {
		return err
	}
	e := HTTPEndpoint{
		Name:        h.Metadata.Name,
		BaseURL:     d.Spec.BaseURL,
		Headers:     headers,
		SecretStore: d.Auth.SecretStore,
		Scopes:      d.Scopes,
		File:        file,
		Line:        root.Line,
	}
	if t := d.Spec.ClientTLS; t != nil {
		e.ClientTLS = &ClientTLS{
			RootCA:        t.RootCA.public(),
			Certificate:   t.Certificate.public(),
			PrivateKey:    t.PrivateKey.public(),
			Renegotiation: t.Renegotiation,
		}
		switch t.Renegotiation {
		case "", "Never", "OnceAsClient", "FreelyAsClient":
		default:
			_, line := find(root, "spec", "clientTLS", "renegotiation")
			return errorf(line, "spec.clientTLS.renegotiation must be Never, OnceAsClient or FreelyAsClient, not %q", t.Renegotiation)
		}
	}
	l.set.HTTPEndpoints = append(l.set.HTTPEndpoints, e)
	return nil
}

func (d *rawTLSDocument) public() *TLSDocument {
	if d == nil {
		return nil
	}
	out := &TLSDocument{Value: d.Value.s}
	if d.SecretKeyRef != nil && d.SecretKeyRef.Name != "" {
		out.SecretKeyRef = d.SecretKeyRef
	}
	return out
}

// String names a component the way daprd's logs do: name (type/version).
func (c *Component) String() string {
	return fmt.Sprintf("%s (%s/%s)", c.Name, c.Type, c.Version)
}
