package pubsub

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"

	"github.com/skiffd/skiff/blocks/resources"
)

// Subscription types as the metadata API names them.
const (
	TypeProgrammatic = "PROGRAMMATIC"
	TypeDeclarative  = "DECLARATIVE"
)

// Subscription is one topic subscription of the app.
type Subscription struct {
	PubsubName      string
	Topic           string
	Metadata        map[string]string
	Rules           []*Rule // in order; a rule without Match always matches
	DeadLetterTopic string
	Bulk            BulkConfig
	Type            string
}

// BulkConfig is a subscription's bulkSubscribe section.
type BulkConfig struct {
	Enabled            bool  `json:"enabled"`
	MaxMessagesCount   int32 `json:"maxMessagesCount,omitempty"`
	MaxAwaitDurationMs int32 `json:"maxAwaitDurationMs,omitempty"`
}

// Rule routes events that match a CEL expression to Path.
type Rule struct {
	Match string
	Path  string
	prg   cel.Program
}

// appSubscription is one item of the app's GET /dapr/subscribe answer
// (daprd's SubscriptionJSON).
type appSubscription struct {
	PubsubName      string            `json:"pubsubname"`
	Topic           string            `json:"topic"`
	Metadata        map[string]string `json:"metadata"`
	Route           string            `json:"route"`
	Routes          appRoutes         `json:"routes"`
	DeadLetterTopic string            `json:"deadLetterTopic"`
	BulkSubscribe   BulkConfig        `json:"bulkSubscribe"`
}

type appRoutes struct {
	Rules []struct {
		Match string `json:"match"`
		Path  string `json:"path"`
	} `json:"rules"`
	Default string `json:"default"`
}

// ParseAppSubscriptions parses the app's /dapr/subscribe answer: v1 items
// with "route", v2 items with "routes" {rules, default}; a default wins over
// route, as in daprd. A CEL expression that does not compile is an error.
func ParseAppSubscriptions(body []byte) ([]*Subscription, error) {
	return parseAppSubscriptions(body, NewRule)
}

// parseAppSubscriptions is ParseAppSubscriptions with the rule compiler
// given (the fuzz target skips CEL, which cel-go fuzzes itself).
func parseAppSubscriptions(body []byte, newRule func(match, path string) (*Rule, error)) ([]*Subscription, error) {
	var items []appSubscription
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("error deserializing topics: %w", err)
	}
	subs := make([]*Subscription, 0, len(items))
	for _, it := range items {
		s := &Subscription{
			PubsubName: it.PubsubName, Topic: it.Topic, Metadata: it.Metadata,
			DeadLetterTopic: it.DeadLetterTopic, Bulk: it.BulkSubscribe, Type: TypeProgrammatic,
		}
		for _, r := range it.Routes.Rules {
			rule, err := newRule(r.Match, r.Path)
			if err != nil {
				return nil, err
			}
			s.Rules = append(s.Rules, rule)
		}
		switch {
		case it.Routes.Default != "":
			s.Rules = append(s.Rules, &Rule{Path: it.Routes.Default})
		case it.Route != "":
			s.Rules = append(s.Rules, &Rule{Path: it.Route})
		}
		subs = append(subs, s)
	}
	return subs, nil
}

// FromResource converts a declarative Subscription (v1alpha1 documents were
// already given their route as Routes.Default by the loader).
func FromResource(r *resources.Subscription) (*Subscription, error) {
	s := &Subscription{
		PubsubName: r.PubsubName, Topic: r.Topic, Metadata: r.Metadata, DeadLetterTopic: r.DeadLetterTopic,
		Bulk: BulkConfig{Enabled: r.BulkSubscribe.Enabled, MaxMessagesCount: r.BulkSubscribe.MaxMessagesCount,
			MaxAwaitDurationMs: r.BulkSubscribe.MaxAwaitDurationMs},
		Type: TypeDeclarative,
	}
	for _, rr := range r.Routes.Rules {
		rule, err := NewRule(rr.Match, rr.Path)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: subscription %s: %w", r.File, r.Line, r.Name, err)
		}
		s.Rules = append(s.Rules, rule)
	}
	if r.Routes.Default != "" {
		s.Rules = append(s.Rules, &Rule{Path: r.Routes.Default})
	}
	return s, nil
}

// celEnv is built on first use: building it costs milliseconds and
// megabytes that a sidecar without routing rules should not pay at startup.
var celEnv = sync.OnceValues(func() (*cel.Env, error) { return cel.NewEnv(cel.Variable("event", cel.DynType)) })

// NewRule compiles match (empty: always matches).
func NewRule(match, path string) (*Rule, error) {
	r := &Rule{Match: match, Path: path}
	if strings.TrimSpace(match) == "" {
		r.Match = ""
		return r, nil
	}
	env, err := celEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(match)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("invalid routing rule match %q: %w", match, iss.Err())
	}
	prg, err := env.Program(ast)
	if err != nil {
		return nil, fmt.Errorf("invalid routing rule match %q: %w", match, err)
	}
	r.prg = prg
	return r, nil
}

// NeedsEvent reports whether routing needs the decoded event (some rule
// before the first unconditional one has a CEL expression).
func (s *Subscription) NeedsEvent() bool {
	return len(s.Rules) > 0 && s.Rules[0].prg != nil
}

// Route picks the path for event (decoded CloudEvent; may be nil when
// NeedsEvent is false): the first rule whose expression is true. "" means
// no rule matched.
func (s *Subscription) Route(event map[string]any) (string, error) {
	for _, r := range s.Rules {
		if r.prg == nil {
			return r.Path, nil
		}
		out, _, err := r.prg.Eval(map[string]any{"event": event})
		if err != nil {
			return "", fmt.Errorf("evaluating routing rule %q: %w", r.Match, err)
		}
		b, ok := out.Value().(bool)
		if !ok {
			return "", fmt.Errorf("the result of match expression %s was not a boolean", r.Match)
		}
		if b {
			return r.Path, nil
		}
	}
	return "", nil
}

// MetadataView is a subscription as GET /v1.0/metadata lists it.
type MetadataView struct {
	PubsubName      string            `json:"pubsubname"`
	Topic           string            `json:"topic"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	Rules           []MetadataRule    `json:"rules,omitempty"`
	DeadLetterTopic string            `json:"deadLetterTopic"`
	Type            string            `json:"type"`
}

// MetadataRule is one routing rule in the metadata API.
type MetadataRule struct {
	Match string `json:"match,omitempty"`
	Path  string `json:"path,omitempty"`
}

// Subscriptions lists the active subscriptions for the metadata API.
func (a *API) Subscriptions() any {
	a.subsMu.Lock()
	defer a.subsMu.Unlock()
	out := make([]MetadataView, 0, len(a.subs))
	for _, s := range a.subs {
		v := MetadataView{PubsubName: s.PubsubName, Topic: s.Topic, Metadata: s.Metadata, DeadLetterTopic: s.DeadLetterTopic, Type: s.Type}
		for _, r := range s.Rules {
			v.Rules = append(v.Rules, MetadataRule{Match: r.Match, Path: r.Path})
		}
		out = append(out, v)
	}
	return out
}
