package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/blocks/pubsub"
	"github.com/skiffd/skiff/blocks/resiliency"
	"github.com/skiffd/skiff/blocks/resources"
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
