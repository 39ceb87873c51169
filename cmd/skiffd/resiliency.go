package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/blocks/configuration"
	"github.com/skiffd/skiff/blocks/lock"
	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/resiliency"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/blocks/secrets"
	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/dataplane/metrics"
)

// newResiliency builds the policy engine from the Resiliency documents of
// the resources path (scoped ones already filtered by the loader). The
// components are wrapped with their policies when the blocks are built
// (wrapStates, wrapPubsubs, wrapOutputs, wrapInputs, wrapSecretStores,
// wrapConfigurations, wrapLocks); the invocation block takes the app's
// policy. A component without a policy is not wrapped and
// keeps its fast paths.
func newResiliency(o *options, set *resources.Set, m *metrics.Metrics, log *slog.Logger) (*resiliency.Resiliency, error) {
	opts := resiliency.Options{Namespace: os.Getenv("NAMESPACE"), Log: log}
	if m.Enabled() {
		opts.Observer = newResiliencyMetrics(o.appID, m)
	}
	return resiliency.New(set.Resiliencies, opts)
}

// resiliencyMetrics records daprd's resiliency metrics.
type resiliencyMetrics struct {
	appID                      string
	loaded, count, activations *prometheus.CounterVec
	cbState                    *prometheus.GaugeVec
}

func newResiliencyMetrics(appID string, m *metrics.Metrics) *resiliencyMetrics {
	labels := []string{"app_id", "name", "namespace", "policy", "flow_direction", "target", "status"}
	return &resiliencyMetrics{
		appID:       appID,
		loaded:      m.CounterVec("dapr_resiliency_loaded", "Number of resiliency policies loaded.", "app_id", "name", "namespace"),
		count:       m.CounterVec("dapr_resiliency_count", "Number of times a resiliency policy has been applied to a building block.", labels...),
		activations: m.CounterVec("dapr_resiliency_activations_total", "Number of times a resiliency policy has been activated in a building block after a failure or after a state change.", labels...),
		cbState:     m.GaugeVec("dapr_resiliency_cb_state", "A resiliency policy's current CircuitBreakerState state. 0 is closed, 1 is half-open, 2 is open, and -1 is unknown.", labels...),
	}
}

func (r *resiliencyMetrics) Loaded(name, ns string) {
	r.loaded.WithLabelValues(r.appID, name, ns).Inc()
}

func (r *resiliencyMetrics) Executed(name, ns, policy, flow, target, status string) {
	r.count.WithLabelValues(r.appID, name, ns, policy, flow, target, status).Inc()
}

func (r *resiliencyMetrics) Activated(name, ns, policy, flow, target, status string) {
	r.activations.WithLabelValues(r.appID, name, ns, policy, flow, target, status).Inc()
	if policy == "circuitbreaker" {
		v := -1.0
		switch status {
		case "closed":
			v = 0
		case "half-open":
			v = 1
		case "open":
			v = 2
		}
		r.cbState.WithLabelValues(r.appID, name, ns, policy, flow, target, status).Set(v)
	}
}

// wrapStates puts each state store with an outbound policy behind it.
func wrapStates(res *resiliency.Resiliency, entries []state.StoreEntry) []state.StoreEntry {
	out := append([]state.StoreEntry(nil), entries...)
	for i := range out {
		if p := res.ComponentOutbound(out[i].Name, resiliency.Statestore); p != nil {
			out[i].Store = &resilientStore{Store: out[i].Store, p: p}
		}
	}
	return out
}

// resilientStore runs every call of a store under its policy. It hides
// the store's event-loop fast paths (InlineStore, FastGetter): a call
// that may wait or retry runs on a worker.
type resilientStore struct {
	state.Store
	p *resiliency.Policy
}

func (s *resilientStore) Get(ctx context.Context, req *state.GetRequest) (state.GetResponse, error) {
	var out state.GetResponse
	err := s.p.Run(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.Store.Get(ctx, req)
		return err
	})
	return out, err
}

func (s *resilientStore) Set(ctx context.Context, req *state.SetRequest) error {
	return s.p.Run(ctx, func(ctx context.Context) error { return s.Store.Set(ctx, req) })
}

func (s *resilientStore) Delete(ctx context.Context, req *state.DeleteRequest) error {
	return s.p.Run(ctx, func(ctx context.Context) error { return s.Store.Delete(ctx, req) })
}

func (s *resilientStore) BulkGet(ctx context.Context, reqs []state.GetRequest, parallelism int) ([]state.BulkGetItem, error) {
	var out []state.BulkGetItem
	err := s.p.Run(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.Store.BulkGet(ctx, reqs, parallelism)
		return err
	})
	return out, err
}

func (s *resilientStore) BulkSet(ctx context.Context, reqs []state.SetRequest) error {
	return s.p.Run(ctx, func(ctx context.Context) error { return s.Store.BulkSet(ctx, reqs) })
}

// Multi is only reached when the store reports FeatureTransactional, which
// only Transactional stores do.
func (s *resilientStore) Multi(ctx context.Context, req *state.TransactionRequest) error {
	tx, ok := s.Store.(state.Transactional)
	if !ok {
		return errNotSupported
	}
	return s.p.Run(ctx, func(ctx context.Context) error { return tx.Multi(ctx, req) })
}

// Query is only reached when the store reports FeatureQuery.
func (s *resilientStore) Query(ctx context.Context, req *state.QueryRequest) (*state.QueryResponse, error) {
	q, ok := s.Store.(state.Querier)
	if !ok {
		return nil, errNotSupported
	}
	var out *state.QueryResponse
	err := s.p.Run(ctx, func(ctx context.Context) error {
		var err error
		out, err = q.Query(ctx, req)
		return err
	})
	return out, err
}

type resilErr string

func (e resilErr) Error() string { return string(e) }

const errNotSupported = resilErr("operation not supported by the store")

// wrapPubsubs puts each pub/sub with a policy behind it: outbound for
// publishing, inbound for deliveries to the app (the handler the block
// gives Subscribe is wrapped: a failed delivery is retried under the
// inbound policy before the component's own redelivery).
func wrapPubsubs(res *resiliency.Resiliency, entries []pubsub.Entry) []pubsub.Entry {
	out := append([]pubsub.Entry(nil), entries...)
	for i := range out {
		po := res.ComponentOutbound(out[i].Name, resiliency.Pubsub)
		pi := res.ComponentInbound(out[i].Name, resiliency.Pubsub)
		if po == nil && pi == nil {
			continue
		}
		w := &resilientPubsub{PubSub: out[i].Component, out: po, in: pi}
		if _, ok := out[i].Component.(pubsub.BulkSubscriber); ok {
			out[i].Component = &resilientBulkPubsub{w}
		} else {
			out[i].Component = w
		}
	}
	return out
}

// resilientPubsub hides InlinePublisher (publishing may now wait) and
// BulkPublisher (the block then publishes entry by entry, each under the
// policy, so a retry never republishes an entry that went through).
type resilientPubsub struct {
	pubsub.PubSub
	out, in *resiliency.Policy
}

func (p *resilientPubsub) Publish(ctx context.Context, req *pubsub.PublishRequest) error {
	return p.out.Run(ctx, func(ctx context.Context) error { return p.PubSub.Publish(ctx, req) })
}

func (p *resilientPubsub) Subscribe(ctx context.Context, req pubsub.SubscribeRequest, h pubsub.Handler) error {
	if p.in != nil {
		inner := h
		h = func(ctx context.Context, msg *pubsub.Message) error {
			return p.in.Run(ctx, func(ctx context.Context) error { return inner(ctx, msg) })
		}
	}
	return p.PubSub.Subscribe(ctx, req, h)
}

// SubscriptionsReady passes the notice on to components that want it.
func (p *resilientPubsub) SubscriptionsReady() {
	if r, ok := p.PubSub.(pubsub.ReadyNotifier); ok {
		r.SubscriptionsReady()
	}
}

type resilientBulkPubsub struct{ *resilientPubsub }

// BulkSubscribe retries, under the inbound policy, only the messages of a
// batch the app did not take.
func (p *resilientBulkPubsub) BulkSubscribe(ctx context.Context, req pubsub.SubscribeRequest, maxCount int, maxAwait time.Duration, h pubsub.BulkHandler) error {
	bs := p.PubSub.(pubsub.BulkSubscriber)
	if p.in == nil {
		return bs.BulkSubscribe(ctx, req, maxCount, maxAwait, h)
	}
	return bs.BulkSubscribe(ctx, req, maxCount, maxAwait, func(ctx context.Context, msgs []*pubsub.Message) []error {
		errs := make([]error, len(msgs))
		pending := msgs
		idx := make([]int, len(msgs))
		for i := range idx {
			idx[i] = i
		}
		_ = p.in.Run(ctx, func(ctx context.Context) error {
			res := h(ctx, pending)
			var nextMsgs []*pubsub.Message
			var nextIdx []int
			for j, e := range res {
				errs[idx[j]] = e
				if e != nil {
					nextMsgs = append(nextMsgs, pending[j])
					nextIdx = append(nextIdx, idx[j])
				}
			}
			pending, idx = nextMsgs, nextIdx
			if len(pending) > 0 {
				return errBatchFailed
			}
			return nil
		})
		return errs
	})
}

const errBatchFailed = resilErr("some messages of the batch failed")

// wrapOutputs puts each output binding with an outbound policy behind it.
func wrapOutputs(res *resiliency.Resiliency, entries []bindings.OutputEntry) []bindings.OutputEntry {
	out := append([]bindings.OutputEntry(nil), entries...)
	for i := range out {
		if p := res.ComponentOutbound(out[i].Name, resiliency.Binding); p != nil {
			out[i].Output = &resilientOutput{Output: out[i].Output, p: p}
		}
	}
	return out
}

type resilientOutput struct {
	bindings.Output
	p *resiliency.Policy
}

func (o *resilientOutput) Invoke(ctx context.Context, req *bindings.InvokeRequest) (*bindings.InvokeResponse, error) {
	var out *bindings.InvokeResponse
	err := o.p.Run(ctx, func(ctx context.Context) error {
		var err error
		out, err = o.Output.Invoke(ctx, req)
		return err
	})
	return out, err
}

// wrapInputs runs the delivery of each input binding's events to the app
// under the binding's inbound policy.
func wrapInputs(res *resiliency.Resiliency, entries []bindings.InputEntry) []bindings.InputEntry {
	out := append([]bindings.InputEntry(nil), entries...)
	for i := range out {
		if p := res.ComponentInbound(out[i].Name, resiliency.Binding); p != nil {
			out[i].Input = &resilientInput{Input: out[i].Input, p: p}
		}
	}
	return out
}

type resilientInput struct {
	bindings.Input
	p *resiliency.Policy
}

func (in *resilientInput) Read(ctx context.Context, h bindings.Handler) error {
	return in.Input.Read(ctx, func(ctx context.Context, ev *bindings.ReadResponse) ([]byte, error) {
		var out []byte
		err := in.p.Run(ctx, func(ctx context.Context) error {
			var err error
			out, err = h(ctx, ev)
			return err
		})
		return out, err
	})
}

// wrapSecretStores puts each secret store with an outbound policy behind
// it: daprd runs GetSecret and BulkGetSecret under the component's
// outbound policy (target Secretstore_<name>). The wrapper hides
// NonBlocking, so a store under a policy is served off the event loop.
func wrapSecretStores(res *resiliency.Resiliency, entries []secrets.StoreEntry) []secrets.StoreEntry {
	out := append([]secrets.StoreEntry(nil), entries...)
	for i := range out {
		if p := res.ComponentOutbound(out[i].Name, resiliency.Secretstore); p != nil {
			out[i].Store = &resilientSecrets{Store: out[i].Store, p: p}
		}
	}
	return out
}

type resilientSecrets struct {
	secrets.Store
	p *resiliency.Policy
}

func (s *resilientSecrets) GetSecret(ctx context.Context, name string, md map[string]string) (map[string]string, error) {
	var out map[string]string
	err := s.p.Run(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.Store.GetSecret(ctx, name, md)
		return err
	})
	return out, err
}

func (s *resilientSecrets) BulkGetSecret(ctx context.Context, md map[string]string) (map[string]map[string]string, error) {
	var out map[string]map[string]string
	err := s.p.Run(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.Store.BulkGetSecret(ctx, md)
		return err
	})
	return out, err
}

// wrapConfigurations puts each configuration store with an outbound policy
// behind it: daprd runs Get, Subscribe and Unsubscribe under the
// component's outbound policy (target Configuration_<name>); the updates a
// subscription delivers later are not under it. The wrapper hides
// InlineStore.
func wrapConfigurations(res *resiliency.Resiliency, entries []configuration.StoreEntry) []configuration.StoreEntry {
	out := append([]configuration.StoreEntry(nil), entries...)
	for i := range out {
		if p := res.ComponentOutbound(out[i].Name, resiliency.Configuration); p != nil {
			out[i].Store = &resilientConfiguration{Store: out[i].Store, p: p}
		}
	}
	return out
}

type resilientConfiguration struct {
	configuration.Store
	p *resiliency.Policy
}

func (s *resilientConfiguration) Get(ctx context.Context, keys []string, md map[string]string) (map[string]*configuration.Item, error) {
	var out map[string]*configuration.Item
	err := s.p.Run(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.Store.Get(ctx, keys, md)
		return err
	})
	return out, err
}

func (s *resilientConfiguration) Subscribe(ctx context.Context, keys []string, md map[string]string, h configuration.Handler) (string, error) {
	var id string
	err := s.p.Run(ctx, func(ctx context.Context) error {
		var err error
		id, err = s.Store.Subscribe(ctx, keys, md, h)
		return err
	})
	return id, err
}

func (s *resilientConfiguration) Unsubscribe(ctx context.Context, id string) error {
	return s.p.Run(ctx, func(ctx context.Context) error { return s.Store.Unsubscribe(ctx, id) })
}

// wrapLocks puts each lock store with an outbound policy behind it: daprd
// runs TryLock and Unlock under the component's outbound policy (target
// Lock_<name>). A lock held by someone else is an answer, not a failure:
// it is not retried. The wrapper hides InlineStore.
func wrapLocks(res *resiliency.Resiliency, entries []lock.StoreEntry) []lock.StoreEntry {
	out := append([]lock.StoreEntry(nil), entries...)
	for i := range out {
		if p := res.ComponentOutbound(out[i].Name, resiliency.Lock); p != nil {
			out[i].Store = &resilientLock{Store: out[i].Store, p: p}
		}
	}
	return out
}

type resilientLock struct {
	lock.Store
	p *resiliency.Policy
}

func (s *resilientLock) TryLock(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	var ok bool
	err := s.p.Run(ctx, func(ctx context.Context) error {
		var err error
		ok, err = s.Store.TryLock(ctx, key, owner, ttl)
		return err
	})
	return ok, err
}

func (s *resilientLock) Unlock(ctx context.Context, key, owner string) (lock.Status, error) {
	var st lock.Status
	err := s.p.Run(ctx, func(ctx context.Context) error {
		var err error
		st, err = s.Store.Unlock(ctx, key, owner)
		return err
	})
	return st, err
}
