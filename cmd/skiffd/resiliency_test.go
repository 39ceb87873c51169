package main

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/blocks/configuration"
	"github.com/skiffd/skiff/blocks/lock"
	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/resiliency"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/blocks/secrets"
	"github.com/skiffd/skiff/blocks/state"
)

var errFlaky = errors.New("flaky")

func testResiliency(t *testing.T) *resiliency.Resiliency {
	t.Helper()
	two := 2
	r, err := resiliency.New([]resources.Resiliency{{Name: "r", Spec: resources.ResiliencySpec{
		Policies: resources.ResiliencyPolicies{Retries: map[string]resources.Retry{"r": {Duration: "1ms", MaxRetries: &two}}},
		Targets: resources.ResiliencyTargets{Components: map[string]resources.ComponentPolicyNames{
			"c": {Outbound: resources.PolicyNames{Retry: "r"}, Inbound: resources.PolicyNames{Retry: "r"}},
		}},
	}}}, resiliency.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type flakyStore struct {
	state.Store
	n int
}

func (s *flakyStore) Get(context.Context, *state.GetRequest) (state.GetResponse, error) {
	s.n++
	if s.n < 3 {
		return state.GetResponse{}, errFlaky
	}
	return state.GetResponse{Found: true, Data: []byte("v")}, nil
}

func TestWrapStates(t *testing.T) {
	r := testResiliency(t)
	fs, other := &flakyStore{}, &flakyStore{}
	out := wrapStates(r, []state.StoreEntry{{Name: "c", Store: fs}, {Name: "plain", Store: other}})
	if out[1].Store != other {
		t.Fatal("a store without a policy was wrapped (it would lose its fast paths)")
	}
	got, err := out[0].Store.Get(context.Background(), &state.GetRequest{Key: "k"})
	if err != nil || string(got.Data) != "v" || fs.n != 3 {
		t.Fatalf("get: %v %q after %d calls", err, got.Data, fs.n)
	}
	if _, ok := out[0].Store.(state.InlineStore); ok {
		t.Fatal("the wrapper claims to be inline")
	}
}

type fakePubsub struct {
	pubsub.PubSub
	publishes int
	deliver   func(h pubsub.Handler) error
}

func (p *fakePubsub) Publish(context.Context, *pubsub.PublishRequest) error {
	p.publishes++
	if p.publishes < 2 {
		return errFlaky
	}
	return nil
}

func (p *fakePubsub) Subscribe(_ context.Context, _ pubsub.SubscribeRequest, h pubsub.Handler) error {
	return p.deliver(h)
}

type fakeBulkPubsub struct{ *fakePubsub }

func (p fakeBulkPubsub) BulkSubscribe(ctx context.Context, _ pubsub.SubscribeRequest, _ int, _ time.Duration, h pubsub.BulkHandler) error {
	errs := h(ctx, []*pubsub.Message{{Data: []byte("a")}, {Data: []byte("b")}, {Data: []byte("c")}})
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		return errors.New("unexpected verdicts")
	}
	return nil
}

func TestWrapPubsubs(t *testing.T) {
	r := testResiliency(t)
	calls := 0
	fp := &fakePubsub{deliver: func(h pubsub.Handler) error {
		return h(context.Background(), &pubsub.Message{})
	}}
	out := wrapPubsubs(r, []pubsub.Entry{{Name: "c", Component: fp}})
	if err := out[0].Component.Publish(context.Background(), &pubsub.PublishRequest{}); err != nil || fp.publishes != 2 {
		t.Fatalf("publish: %v after %d", err, fp.publishes)
	}
	err := out[0].Component.Subscribe(context.Background(), pubsub.SubscribeRequest{}, func(context.Context, *pubsub.Message) error {
		calls++
		if calls < 3 {
			return errFlaky
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("delivery: %v after %d", err, calls)
	}
	if _, ok := out[0].Component.(pubsub.BulkSubscriber); ok {
		t.Fatal("bulk subscribe offered by a component without it")
	}

	// Bulk: only the messages the app refused are delivered again.
	bp := fakeBulkPubsub{&fakePubsub{}}
	out = wrapPubsubs(r, []pubsub.Entry{{Name: "c", Component: bp}})
	bs, ok := out[0].Component.(pubsub.BulkSubscriber)
	if !ok {
		t.Fatal("bulk subscribe hidden")
	}
	var seen []string
	err = bs.BulkSubscribe(context.Background(), pubsub.SubscribeRequest{}, 10, time.Second, func(_ context.Context, msgs []*pubsub.Message) []error {
		errs := make([]error, len(msgs))
		for i, m := range msgs {
			seen = append(seen, string(m.Data))
			if string(m.Data) == "b" {
				errs[i] = errFlaky
			}
		}
		return errs
	})
	if err != nil || len(seen) != 5 || seen[3] != "b" || seen[4] != "b" {
		t.Fatalf("bulk: %v, deliveries %v", err, seen)
	}
}

type flakyOutput struct{ n int }

func (o *flakyOutput) Operations() []string { return []string{"create"} }
func (o *flakyOutput) Close() error         { return nil }
func (o *flakyOutput) Invoke(context.Context, *bindings.InvokeRequest) (*bindings.InvokeResponse, error) {
	o.n++
	if o.n < 3 {
		return &bindings.InvokeResponse{Data: []byte("partial")}, errFlaky
	}
	return &bindings.InvokeResponse{Data: []byte("done")}, nil
}

type fakeInput struct{ h bindings.Handler }

func (in *fakeInput) Read(_ context.Context, h bindings.Handler) error { in.h = h; return nil }
func (in *fakeInput) Close() error                                     { return nil }

func TestWrapBindings(t *testing.T) {
	r := testResiliency(t)
	fo := &flakyOutput{}
	outs := wrapOutputs(r, []bindings.OutputEntry{{Name: "c", Output: fo}})
	resp, err := outs[0].Output.Invoke(context.Background(), &bindings.InvokeRequest{})
	if err != nil || string(resp.Data) != "done" || fo.n != 3 {
		t.Fatalf("output: %v %v after %d", err, resp, fo.n)
	}
	fi := &fakeInput{}
	ins := wrapInputs(r, []bindings.InputEntry{{Name: "c", Input: fi}})
	calls := 0
	_ = ins[0].Input.Read(context.Background(), func(context.Context, *bindings.ReadResponse) ([]byte, error) {
		calls++
		if calls < 2 {
			return nil, errFlaky
		}
		return []byte("ack"), nil
	})
	out, err := fi.h(context.Background(), &bindings.ReadResponse{})
	if err != nil || string(out) != "ack" || calls != 2 {
		t.Fatalf("input: %v %q after %d", err, out, calls)
	}
}

// targetRecorder records the targets policies were applied to.
type targetRecorder struct {
	mu      sync.Mutex
	applied map[string]int
}

func (r *targetRecorder) Loaded(string, string) {}
func (r *targetRecorder) Executed(_, _, policy, flow, target, _ string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied[policy+" "+flow+" "+target]++
}
func (r *targetRecorder) Activated(string, string, string, string, string, string) {}

func (r *targetRecorder) count(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied[key]
}

// outboundResiliency gives component c an outbound retry (2 retries) and
// records the targets.
func outboundResiliency(t *testing.T) (*resiliency.Resiliency, *targetRecorder) {
	t.Helper()
	two := 2
	rec := &targetRecorder{applied: map[string]int{}}
	r, err := resiliency.New([]resources.Resiliency{{Name: "r", Spec: resources.ResiliencySpec{
		Policies: resources.ResiliencyPolicies{Retries: map[string]resources.Retry{"r": {Duration: "1ms", MaxRetries: &two}}},
		Targets: resources.ResiliencyTargets{Components: map[string]resources.ComponentPolicyNames{
			"c": {Outbound: resources.PolicyNames{Retry: "r"}},
		}},
	}}}, resiliency.Options{Observer: rec})
	if err != nil {
		t.Fatal(err)
	}
	return r, rec
}

type flakySecrets struct{ gets, bulks int }

func (s *flakySecrets) GetSecret(context.Context, string, map[string]string) (map[string]string, error) {
	s.gets++
	if s.gets < 3 {
		return nil, errFlaky
	}
	return map[string]string{"k": "v"}, nil
}

func (s *flakySecrets) BulkGetSecret(context.Context, map[string]string) (map[string]map[string]string, error) {
	s.bulks++
	if s.bulks < 2 {
		return nil, errFlaky
	}
	return map[string]map[string]string{"s": {"k": "v"}}, nil
}
func (s *flakySecrets) Features() []string { return nil }
func (s *flakySecrets) Close() error       { return nil }
func (s *flakySecrets) NonBlocking() bool  { return true }

func TestWrapSecretStores(t *testing.T) {
	r, rec := outboundResiliency(t)
	fs, other := &flakySecrets{}, &flakySecrets{}
	out := wrapSecretStores(r, []secrets.StoreEntry{{Name: "c", Store: fs}, {Name: "plain", Store: other}})
	if out[1].Store != other {
		t.Fatal("a store without a policy was wrapped")
	}
	got, err := out[0].Store.GetSecret(context.Background(), "s", nil)
	if err != nil || got["k"] != "v" || fs.gets != 3 {
		t.Fatalf("get: %v %v after %d calls", err, got, fs.gets)
	}
	all, err := out[0].Store.BulkGetSecret(context.Background(), nil)
	if err != nil || all["s"]["k"] != "v" || fs.bulks != 2 {
		t.Fatalf("bulk: %v %v after %d calls", err, all, fs.bulks)
	}
	if _, ok := out[0].Store.(secrets.NonBlocking); ok {
		t.Fatal("the wrapper claims to be non-blocking (a retry would wait on the event loop)")
	}
	if n := rec.count("retry outbound Secretstore_c"); n != 2 {
		t.Fatalf("policy applied %d times to Secretstore_c: %v", n, rec.applied)
	}
	// Failing for good: the last error comes back after 1+2 attempts.
	bad := &flakySecrets{gets: -10}
	out = wrapSecretStores(r, []secrets.StoreEntry{{Name: "c", Store: bad}})
	if _, err := out[0].Store.GetSecret(context.Background(), "s", nil); !errors.Is(err, errFlaky) || bad.gets != -7 {
		t.Fatalf("exhausted: %v after %d", err, bad.gets+10)
	}
}

type flakyConfig struct {
	configuration.Store
	gets, subs, unsubs int
}

func (s *flakyConfig) Get(context.Context, []string, map[string]string) (map[string]*configuration.Item, error) {
	s.gets++
	if s.gets < 3 {
		return nil, errFlaky
	}
	return map[string]*configuration.Item{"k": {Value: "v"}}, nil
}

func (s *flakyConfig) Subscribe(context.Context, []string, map[string]string, configuration.Handler) (string, error) {
	s.subs++
	if s.subs < 2 {
		return "", errFlaky
	}
	return "id", nil
}

func (s *flakyConfig) Unsubscribe(context.Context, string) error {
	s.unsubs++
	if s.unsubs < 2 {
		return errFlaky
	}
	return nil
}
func (s *flakyConfig) InlineSafe() bool { return true }

func TestWrapConfigurations(t *testing.T) {
	r, rec := outboundResiliency(t)
	fc := &flakyConfig{}
	out := wrapConfigurations(r, []configuration.StoreEntry{{Name: "c", Store: fc}})
	items, err := out[0].Store.Get(context.Background(), nil, nil)
	if err != nil || items["k"].Value != "v" || fc.gets != 3 {
		t.Fatalf("get: %v %v after %d", err, items, fc.gets)
	}
	id, err := out[0].Store.Subscribe(context.Background(), nil, nil, func(context.Context, *configuration.Update) {})
	if err != nil || id != "id" || fc.subs != 2 {
		t.Fatalf("subscribe: %v %q after %d", err, id, fc.subs)
	}
	if err := out[0].Store.Unsubscribe(context.Background(), "id"); err != nil || fc.unsubs != 2 {
		t.Fatalf("unsubscribe: %v after %d", err, fc.unsubs)
	}
	if _, ok := out[0].Store.(configuration.InlineStore); ok {
		t.Fatal("the wrapper claims to be inline")
	}
	if n := rec.count("retry outbound Configuration_c"); n != 3 {
		t.Fatalf("policy applied %d times to Configuration_c: %v", n, rec.applied)
	}
}

type flakyLock struct {
	lock.Store
	tries, unlocks int
}

func (s *flakyLock) TryLock(context.Context, string, string, time.Duration) (bool, error) {
	s.tries++
	if s.tries < 3 {
		return false, errFlaky
	}
	return false, nil // held by someone else: an answer, not retried
}

func (s *flakyLock) Unlock(context.Context, string, string) (lock.Status, error) {
	s.unlocks++
	if s.unlocks < 2 {
		return 0, errFlaky
	}
	return lock.Status(1), nil
}
func (s *flakyLock) InlineSafe() bool { return true }

func TestWrapLocks(t *testing.T) {
	r, rec := outboundResiliency(t)
	fl := &flakyLock{}
	out := wrapLocks(r, []lock.StoreEntry{{Name: "c", Store: fl, KeyPrefix: "name"}, {Name: "plain", Store: &flakyLock{}}})
	if out[0].KeyPrefix != "name" {
		t.Fatal("the entry lost its key prefix")
	}
	if _, ok := out[1].Store.(*flakyLock); !ok {
		t.Fatal("a store without a policy was wrapped")
	}
	ok, err := out[0].Store.TryLock(context.Background(), "k", "o", time.Second)
	if err != nil || ok || fl.tries != 3 {
		t.Fatalf("trylock: %v %v after %d", err, ok, fl.tries)
	}
	st, err := out[0].Store.Unlock(context.Background(), "k", "o")
	if err != nil || st != 1 || fl.unlocks != 2 {
		t.Fatalf("unlock: %v %v after %d", err, st, fl.unlocks)
	}
	if _, ok := out[0].Store.(lock.InlineStore); ok {
		t.Fatal("the wrapper claims to be inline")
	}
	if n := rec.count("retry outbound Lock_c"); n != 2 {
		t.Fatalf("policy applied %d times to Lock_c: %v", n, rec.applied)
	}
}
