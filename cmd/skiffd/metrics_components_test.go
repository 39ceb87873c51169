package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/blocks/configuration"
	configmemory "github.com/skiffd/skiff/blocks/configuration/memory"
	"github.com/skiffd/skiff/blocks/pubsub"
	psmemory "github.com/skiffd/skiff/blocks/pubsub/memory"
	psredis "github.com/skiffd/skiff/blocks/pubsub/redis"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/blocks/secrets"
	"github.com/skiffd/skiff/blocks/secrets/local"
	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/blocks/state/memory"
	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/metrics"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func enabledMetrics(t testing.TB) *metrics.Metrics {
	t.Helper()
	return metrics.New(metrics.Options{AppID: "app1", Enabled: true})
}

// value finds the counter (or histogram sample count) of name whose labels
// include want; -1 when there is no such series.
func value(t testing.TB, m *metrics.Metrics, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range s.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if gv, ok := got[k]; !ok || gv != v {
					continue next
				}
			}
			if f.GetType() == dto.MetricType_HISTOGRAM {
				return float64(s.GetHistogram().GetSampleCount())
			}
			return s.GetCounter().GetValue()
		}
	}
	return -1
}

func labelNames(t testing.TB, m *metrics.Metrics, name string) []string {
	t.Helper()
	fams, _ := m.Gatherer().Gather()
	for _, f := range fams {
		if f.GetName() == name && len(f.GetMetric()) > 0 {
			var n []string
			for _, l := range f.GetMetric()[0].GetLabel() {
				n = append(n, l.GetName())
			}
			return n
		}
	}
	return nil
}

func TestComponentMetricsOffWrapsNothing(t *testing.T) {
	cm := newComponentMetrics("app1", "", metrics.New(metrics.Options{AppID: "app1"}))
	if cm != nil {
		t.Fatal("metrics off: componentMetrics must be nil")
	}
	st, _ := memory.New("statestore", nil)
	in := []state.StoreEntry{{Name: "statestore", Store: st}}
	if out := cm.wrapStates(in); out[0].Store != state.Store(st) {
		t.Fatalf("metrics off: the store was wrapped (%T)", out[0].Store)
	}
	bus, _ := psmemory.New("pubsub", nil)
	if out := cm.wrapPubsubs([]pubsub.Entry{{Name: "pubsub", Component: bus}}); out[0].Component != pubsub.PubSub(bus) {
		t.Fatalf("metrics off: the pubsub was wrapped (%T)", out[0].Component)
	}
	cm.initialized("state.in-memory") // nil-safe
	cm.initFailed("state.redis", "init", "x")
}

func TestStateMetricsKeepFastPathsAndCount(t *testing.T) {
	m := enabledMetrics(t)
	cm := newComponentMetrics("app1", "ns1", m)
	st, _ := memory.New("statestore", nil)
	w := cm.wrapStates([]state.StoreEntry{{Name: "statestore", Store: st}})[0].Store
	if is, ok := w.(state.InlineStore); !ok || !is.InlineSafe() {
		t.Fatal("the in-memory store is no longer inline")
	}
	fg, ok := w.(state.FastGetter)
	if !ok {
		t.Fatal("the in-memory store lost AppendGet")
	}
	ctx := context.Background()
	if err := w.Set(ctx, &state.SetRequest{Key: "k", Value: []byte(`"v"`)}); err != nil {
		t.Fatal(err)
	}
	if err := w.BulkSet(ctx, []state.SetRequest{{Key: "a", Value: []byte(`1`)}, {Key: "b", Value: []byte(`2`)}}); err != nil {
		t.Fatal(err)
	}
	if _, _, found := fg.AppendGet(nil, []byte("k")); !found {
		t.Fatal("k not found")
	}
	if _, err := w.Get(ctx, &state.GetRequest{Key: "missing"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Delete(ctx, &state.DeleteRequest{Key: "k", ETag: "999"}); err == nil {
		t.Fatal("delete with a wrong etag succeeded")
	}
	if _, err := w.BulkGet(ctx, []state.GetRequest{{Key: "a"}, {Key: "b"}}, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.(state.Transactional).Multi(ctx, &state.TransactionRequest{}); err != nil {
		t.Fatal(err)
	}
	lbl := func(op, ok string) map[string]string {
		return map[string]string{"app_id": "app1", "component": "statestore", "namespace": "ns1", "operation": op, "success": ok}
	}
	for _, c := range []struct {
		op, ok string
		n      float64
	}{
		{"set", "true", 2}, {"get", "true", 2}, {"delete", "false", 1}, {"bulk_get", "true", 1}, {"transaction", "true", 1},
		{"delete", "true", -1}, {"get", "false", -1}, {"query", "true", -1},
	} {
		if got := value(t, m, "dapr_component_state_count", lbl(c.op, c.ok)); got != c.n {
			t.Errorf("state_count %s success=%s = %v, want %v", c.op, c.ok, got, c.n)
		}
		if c.n > 0 {
			if got := value(t, m, "dapr_component_state_latencies", lbl(c.op, c.ok)); got != c.n {
				t.Errorf("state_latencies %s success=%s count = %v, want %v", c.op, c.ok, got, c.n)
			}
		}
	}
	want := []string{"app_id", "component", "namespace", "operation", "success"}
	if got := labelNames(t, m, "dapr_component_state_count"); len(got) != len(want) {
		t.Errorf("labels %v, want %v", got, want)
	}
}

// fakeAsync is a backend store whose plain reads complete through a
// callback, as Redis's batched reads do (here synchronously).
type fakeAsync struct {
	state.Store
	err error
}

func (f *fakeAsync) AsyncGets() bool { return true }
func (f *fakeAsync) GetAsync(_ string, done func(state.GetResponse, error)) {
	done(state.GetResponse{Found: true}, f.err)
}

func TestStateMetricsAsyncGet(t *testing.T) {
	m := enabledMetrics(t)
	cm := newComponentMetrics("app1", "", m)
	st, _ := memory.New("x", nil)
	f := &fakeAsync{Store: st}
	w := cm.wrapState("redisstore", f)
	ag, ok := w.(state.AsyncGetter)
	if !ok || !ag.AsyncGets() {
		t.Fatal("the backend store lost its batched reads")
	}
	if _, ok := w.(state.InlineStore); ok {
		t.Fatal("a backend store became inline")
	}
	calls := 0
	ag.GetAsync("k", func(state.GetResponse, error) { calls++ })
	f.err = errors.New("down")
	ag.GetAsync("k", func(state.GetResponse, error) { calls++ })
	if calls != 2 {
		t.Fatalf("done called %d times", calls)
	}
	for ok, n := range map[string]float64{"true": 1, "false": 1} {
		if got := value(t, m, "dapr_component_state_count", map[string]string{"component": "redisstore", "operation": "get", "success": ok}); got != n {
			t.Errorf("get success=%s = %v, want %v", ok, got, n)
		}
	}
}

// A component's lanes (Redis Streams' concurrency) and answer timeout
// survive the decorator: without them every subscription would deliver on
// one lane, with no timeout.
func TestPubsubMetricsKeepLanes(t *testing.T) {
	cm := newComponentMetrics("app1", "", enabledMetrics(t))
	rs, err := psredis.New("redispubsub", map[string]string{"redisHost": "127.0.0.1:1", "consumerID": "c", "concurrency": "7"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	w := cm.wrapPubsubs([]pubsub.Entry{{Name: "redispubsub", Component: rs}})[0].Component
	lc, ok := w.(pubsub.LaneCounter)
	if !ok {
		t.Fatal("lost LaneCounter")
	}
	if n := lc.Lanes(pubsub.SubscribeRequest{}); n != 7 {
		t.Fatalf("Lanes = %d, want the component's concurrency 7", n)
	}
	at, ok := w.(pubsub.AnswerTimeouter)
	if !ok || at.AnswerTimeout(pubsub.SubscribeRequest{}) != time.Minute {
		t.Fatal("lost the answer timeout (processingTimeout, 60s by default)")
	}
}

// asyncPS publishes asynchronously (as pubsub.redis), answering err.
type asyncPS struct {
	pubsub.PubSub
	err error
}

func (a *asyncPS) AsyncPublishes() bool { return true }
func (a *asyncPS) PublishAsync(req *pubsub.PublishRequest, done func(error)) {
	go done(a.err)
}

// Asynchronous publishes are counted as the synchronous ones, on
// completion; a component without them is reported as such.
func TestPubsubMetricsAsyncPublish(t *testing.T) {
	m := enabledMetrics(t)
	cm := newComponentMetrics("app1", "", m)
	bus, _ := psmemory.New("pubsub", nil)
	defer bus.Close()
	plain := cm.wrapPubsubs([]pubsub.Entry{{Name: "pubsub", Component: bus}})[0].Component
	if ap, ok := plain.(pubsub.AsyncPublisher); ok && ap.AsyncPublishes() {
		t.Fatal("the in-memory bus reported as publishing asynchronously")
	}
	a := &asyncPS{PubSub: bus}
	w := cm.wrapPubsubs([]pubsub.Entry{{Name: "asyncps", Component: a}})[0].Component
	ap, ok := w.(pubsub.AsyncPublisher)
	if !ok || !ap.AsyncPublishes() {
		t.Fatal("lost AsyncPublisher")
	}
	for _, e := range []error{nil, nil, errors.New("down")} {
		a.err = e
		done := make(chan error, 1)
		ap.PublishAsync(&pubsub.PublishRequest{Topic: "orders", Data: []byte(`{}`)}, func(err error) { done <- err })
		if err := <-done; (err == nil) != (e == nil) {
			t.Fatalf("completion %v, want %v", err, e)
		}
	}
	for ok, n := range map[string]float64{"true": 2, "false": 1} {
		eg := map[string]string{"app_id": "app1", "component": "asyncps", "topic": "orders", "success": ok}
		if v := value(t, m, "dapr_component_pubsub_egress_count", eg); v != n {
			t.Errorf("egress_count success=%s = %v, want %v", ok, v, n)
		}
	}
}

func TestPubsubMetricsKeepBehavioursAndCount(t *testing.T) {
	m := enabledMetrics(t)
	cm := newComponentMetrics("app1", "", m)
	bus, _ := psmemory.New("pubsub", nil)
	defer bus.Close()
	w := cm.wrapPubsubs([]pubsub.Entry{{Name: "pubsub", Component: bus}})[0].Component
	if ip, ok := w.(pubsub.InlinePublisher); !ok || !ip.InlineSafe() {
		t.Error("in-memory publishing is no longer inline")
	}
	if _, ok := w.(pubsub.BulkPublisher); !ok {
		t.Error("lost BulkPublisher")
	}
	if _, ok := w.(pubsub.BulkSubscriber); !ok {
		t.Error("lost BulkSubscriber")
	}
	if _, ok := w.(pubsub.WindowedSubscriber); !ok {
		t.Error("lost WindowedSubscriber")
	}
	if lc, ok := w.(pubsub.LaneCounter); !ok || lc.Lanes(pubsub.SubscribeRequest{}) != 1 {
		t.Error("the lane count of a component without lanes is not 1")
	}
	if _, ok := w.(pubsub.ReadyNotifier); !ok {
		t.Error("lost ReadyNotifier")
	}
	obs, ok := w.(pubsub.IngressObserver)
	if !ok {
		t.Fatal("the decorator does not observe deliveries")
	}
	ctx := context.Background()
	if err := w.Publish(ctx, &pubsub.PublishRequest{Topic: "orders", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	eg := map[string]string{"app_id": "app1", "component": "pubsub", "topic": "orders", "success": "true"}
	if v := value(t, m, "dapr_component_pubsub_egress_count", eg); v != 1 {
		t.Errorf("egress_count = %v", v)
	}
	if v := value(t, m, "dapr_component_pubsub_egress_latencies", eg); v != 1 {
		t.Errorf("egress_latencies count = %v", v)
	}
	// The block's dead-letter publishes are not API publishes.
	if err := w.Publish(ctx, &pubsub.PublishRequest{Topic: "orders", Data: []byte(`{}`), DeadLetter: true}); err != nil {
		t.Fatal(err)
	}
	if v := value(t, m, "dapr_component_pubsub_egress_count", eg); v != 1 {
		t.Errorf("egress_count after a dead-letter publish = %v, want 1", v)
	}
	// A bulk publish is one bulk call, not one single publish per entry.
	failed := w.(pubsub.BulkPublisher).BulkPublish(ctx, &pubsub.BulkPublishRequest{Topic: "orders",
		Entries: []pubsub.BulkEntry{{EntryID: "1", Event: []byte(`{}`)}, {EntryID: "2", Event: []byte(`{}`)}}})
	if len(failed) != 0 {
		t.Fatalf("bulk publish failed: %v", failed)
	}
	if v := value(t, m, "dapr_component_pubsub_egress_bulk_count", eg); v != 1 {
		t.Errorf("egress_bulk_count = %v", v)
	}
	if v := value(t, m, "dapr_component_pubsub_egress_bulk_latencies", eg); v != 1 {
		t.Errorf("egress_bulk_latencies count = %v", v)
	}
	if v := value(t, m, "dapr_component_pubsub_egress_count", eg); v != 1 {
		t.Errorf("egress_count after a bulk publish = %v, want 1", v)
	}

	obs.Ingress("orders", pubsub.IngressSuccess, time.Millisecond)
	obs.Ingress("orders", pubsub.IngressDropSuccess, time.Millisecond)
	obs.Ingress("orders", pubsub.IngressDrop, 0)
	obs.Ingress("orders", pubsub.IngressRetry, 0)
	for _, c := range []struct {
		ps, st string
		n, lat float64
	}{{"success", "success", 1, 1}, {"drop", "success", 1, 1}, {"drop", "drop", 1, -1}, {"retry", "retry", 1, -1}} {
		l := map[string]string{"app_id": "app1", "component": "pubsub", "namespace": "", "topic": "orders", "process_status": c.ps, "status": c.st}
		if v := value(t, m, "dapr_component_pubsub_ingress_count", l); v != c.n {
			t.Errorf("ingress_count %s/%s = %v, want %v", c.ps, c.st, v, c.n)
		}
		if v := value(t, m, "dapr_component_pubsub_ingress_latencies", l); v != c.lat {
			t.Errorf("ingress_latencies %s/%s = %v, want %v", c.ps, c.st, v, c.lat)
		}
	}

	// Bulk deliveries: daprd's component label is "pubsubName", the call
	// has no process_status, and the event count counts records.
	obs.BulkIngress("orders", 3, 1, 0, time.Millisecond)
	obs.BulkIngress("orders", 2, 0, 0, 0)
	bl := map[string]string{"app_id": "app1", "component": "pubsubName", "topic": "orders", "process_status": ""}
	if v := value(t, m, "dapr_component_pubsub_ingress_bulk_count", bl); v != 2 {
		t.Errorf("ingress_bulk_count = %v, want 2", v)
	}
	if v := value(t, m, "dapr_component_pubsub_ingress_bulk_latencies", bl); v != 1 {
		t.Errorf("ingress_bulk_latencies count = %v, want 1", v)
	}
	for st, want := range map[string]float64{"SUCCESS": 2, "DROP": 1, "RETRY": -1} {
		l := map[string]string{"component": "pubsubName", "topic": "orders", "process_status": st}
		if v := value(t, m, "dapr_component_pubsub_ingress_bulk_event_count", l); v != want {
			t.Errorf("ingress_bulk_event_count %s = %v, want %v", st, v, want)
		}
	}
}

// TestPubsubMetricsDeliveries: the block reports each delivery to the
// decorator, one at a time and pipelined: SUCCESS, RETRY then SUCCESS,
// DROP and 404 count as daprd counts them.
func TestPubsubMetricsDeliveries(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		name := "one at a time"
		if pipelined {
			name = "pipelined"
		}
		t.Run(name, func(t *testing.T) { testPubsubMetricsDeliveries(t, pipelined) })
	}
}

func testPubsubMetricsDeliveries(t *testing.T, pipelined bool) {
	var mu sync.Mutex
	retried := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dapr/subscribe":
			io.WriteString(w, `[{"pubsubname":"ps","topic":"ok","route":"/ok"},{"pubsubname":"ps","topic":"retry","route":"/retry"},`+
				`{"pubsubname":"ps","topic":"drop","route":"/drop"},{"pubsubname":"ps","topic":"gone","route":"/gone"}]`)
		case "/ok":
			io.WriteString(w, `{"status":"SUCCESS"}`)
		case "/retry":
			mu.Lock()
			first := !retried
			retried = true
			mu.Unlock()
			if first {
				io.WriteString(w, `{"status":"RETRY"}`)
				return
			}
			io.WriteString(w, `{"status":"SUCCESS"}`)
		case "/drop":
			io.WriteString(w, `{"status":"DROP"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	p, _ := strconv.Atoi(port)
	ch, err := appchannel.New(appchannel.Config{Address: host, Port: p})
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	m := enabledMetrics(t)
	cm := newComponentMetrics("app1", "ns", m)
	bus, _ := psmemory.New("ps", nil)
	defer bus.Close()
	api, err := pubsub.New(pubsub.Config{AppID: "app1", Log: discardLogger()}, cm.wrapPubsubs([]pubsub.Entry{{Name: "ps", Type: "pubsub.in-memory", Component: bus}}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var pt *pubsub.PipeTarget
	if pipelined {
		pt = &pubsub.PipeTarget{Addr: net.JoinHostPort(host, port)}
	}
	api.Start(ctx, ch, nil, pt)
	c := api.Lookup([]byte("ps"))
	for _, topic := range []string{"ok", "retry", "drop", "gone"} {
		in := pubsub.PublishInput{Topic: []byte(topic), ContentType: []byte("application/json"), Body: []byte(`{}`)}
		if f := api.Publish(ctx, c, &in); f != nil {
			t.Fatal(f.Msg)
		}
	}
	type want struct {
		topic, ps, st string
		n, lat        float64
	}
	wants := []want{
		{"ok", "success", "success", 1, 1},
		{"retry", "retry", "retry", 2, 1}, // the app's answer, then daprd's second record without latency
		{"retry", "success", "success", 1, 1},
		{"drop", "drop", "success", 1, 1},
		{"gone", "drop", "drop", 1, 1},
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, w := range wants {
		l := map[string]string{"app_id": "app1", "component": "ps", "namespace": "ns", "topic": w.topic, "process_status": w.ps, "status": w.st}
		for value(t, m, "dapr_component_pubsub_ingress_count", l) < w.n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if v := value(t, m, "dapr_component_pubsub_ingress_count", l); v != w.n {
			t.Errorf("ingress_count %s %s/%s = %v, want %v", w.topic, w.ps, w.st, v, w.n)
		}
		if v := value(t, m, "dapr_component_pubsub_ingress_latencies", l); v != w.lat {
			t.Errorf("ingress_latencies %s %s/%s = %v, want %v", w.topic, w.ps, w.st, v, w.lat)
		}
	}
}

type fakeOutput struct{ fail bool }

func (f *fakeOutput) Operations() []string { return []string{"create", "get"} }
func (f *fakeOutput) Invoke(context.Context, *bindings.InvokeRequest) (*bindings.InvokeResponse, error) {
	if f.fail {
		return nil, errors.New("boom")
	}
	return &bindings.InvokeResponse{}, nil
}
func (f *fakeOutput) Close() error { return nil }

func TestBindingMetrics(t *testing.T) {
	m := enabledMetrics(t)
	cm := newComponentMetrics("app1", "", m)
	f := &fakeOutput{}
	o := cm.wrapOutputs([]bindings.OutputEntry{{Name: "out", Output: f}})[0].Output
	_, _ = o.Invoke(context.Background(), &bindings.InvokeRequest{Operation: "create"})
	f.fail = true
	_, _ = o.Invoke(context.Background(), &bindings.InvokeRequest{Operation: "create"})
	for ok, want := range map[string]float64{"true": 1, "false": 1} {
		l := map[string]string{"component": "out", "operation": "create", "success": ok}
		if v := value(t, m, "dapr_component_output_binding_count", l); v != want {
			t.Errorf("output_binding_count success=%s = %v", ok, v)
		}
	}
}

func TestComponentInitMetrics(t *testing.T) {
	m := enabledMetrics(t)
	cs := &componentSet{log: discardLogger(), appID: "app1", cm: newComponentMetrics("app1", "", m)}
	defer cs.close()
	if err := cs.buildOne(&resources.Component{Name: "statestore", Type: "state.in-memory"}); err != nil {
		t.Fatal(err)
	}
	if err := cs.buildOne(&resources.Component{Name: "bad", Type: "state.nosuch"}); err == nil {
		t.Fatal("unknown type accepted")
	}
	if err := cs.buildOne(&resources.Component{Name: "badq", Type: "pubsub.in-memory",
		Metadata: []resources.MetadataItem{{Name: "maxQueueSize", Value: "-1"}}}); err == nil {
		t.Fatal("bad metadata accepted")
	}
	if v := value(t, m, "dapr_runtime_component_loaded", map[string]string{"app_id": "app1"}); v != 1 {
		t.Errorf("loaded = %v", v)
	}
	if v := value(t, m, "dapr_runtime_component_init_total", map[string]string{"app_id": "app1", "component": "state.in-memory"}); v != 1 {
		t.Errorf("init_total = %v", v)
	}
	if v := value(t, m, "dapr_runtime_component_init_fail_total", map[string]string{"component": "state.nosuch", "reason": "creation", "componentName": "bad"}); v != 1 {
		t.Errorf("init_fail_total creation = %v", v)
	}
	if v := value(t, m, "dapr_runtime_component_init_fail_total", map[string]string{"component": "pubsub.in-memory", "reason": "init", "componentName": "badq"}); v != 1 {
		t.Errorf("init_fail_total init = %v", v)
	}
}

// BenchmarkStateFastGet compares the in-memory store's allocation-free read
// with and without the metrics decorator.
func BenchmarkStateFastGet(b *testing.B) {
	st, _ := memory.New("statestore", nil)
	_ = st.Set(context.Background(), &state.SetRequest{Key: "app||k1", Value: []byte(`{"a":1}`)})
	cm := newComponentMetrics("app1", "", enabledMetrics(b))
	for _, c := range []struct {
		name string
		fg   state.FastGetter
	}{
		{"raw", st},
		{"metrics", cm.wrapState("statestore", st).(state.FastGetter)},
	} {
		b.Run(c.name, func(b *testing.B) {
			key := []byte("app||k1")
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				buf, _, _ = c.fg.AppendGet(buf[:0], key)
			}
		})
	}
}

type eventsInput struct{ events []error }

func (f *eventsInput) Read(ctx context.Context, h bindings.Handler) error {
	for range f.events {
		_, _ = h(ctx, &bindings.ReadResponse{})
	}
	return nil
}
func (f *eventsInput) Close() error { return nil }

func TestInputBindingMetrics(t *testing.T) {
	m := enabledMetrics(t)
	cm := newComponentMetrics("app1", "", m)
	in := cm.wrapInputs([]bindings.InputEntry{{Name: "cron", Input: &eventsInput{events: make([]error, 3)}}})[0].Input
	n := 0
	_ = in.Read(context.Background(), func(context.Context, *bindings.ReadResponse) ([]byte, error) {
		n++
		if n == 2 {
			return nil, errors.New("app down")
		}
		return nil, nil
	})
	for ok, want := range map[string]float64{"true": 2, "false": 1} {
		l := map[string]string{"app_id": "app1", "component": "cron", "namespace": "", "success": ok}
		if v := value(t, m, "dapr_component_input_binding_count", l); v != want {
			t.Errorf("input_binding_count success=%s = %v, want %v", ok, v, want)
		}
		if v := value(t, m, "dapr_component_input_binding_latencies", l); v != want {
			t.Errorf("input_binding_latencies success=%s = %v, want %v", ok, v, want)
		}
	}
}

// The secret and configuration decorators keep the in-memory stores on
// the event loop.
func TestSecretAndConfigurationMetricsKeepInline(t *testing.T) {
	cm := newComponentMetrics("app1", "", enabledMetrics(t))
	env, err := local.NewEnvStore(nil)
	if err != nil {
		t.Fatal(err)
	}
	ss := cm.wrapSecretStores([]secrets.StoreEntry{{Name: "env", Store: env}})[0].Store
	if nb, ok := ss.(secrets.NonBlocking); !ok || !nb.NonBlocking() {
		t.Error("the env secret store is no longer non-blocking")
	}
	cfg, err := configmemory.New("appconfig", nil)
	if err != nil {
		t.Fatal(err)
	}
	cs := cm.wrapConfigurations([]configuration.StoreEntry{{Name: "appconfig", Store: cfg}})[0].Store
	if is, ok := cs.(configuration.InlineStore); !ok || !is.InlineSafe() {
		t.Error("the in-memory configuration store is no longer inline")
	}
}

// Configuration spec.metric.rules rewrite component metric labels too, per
// metric name, as daprd's do.
func TestComponentMetricsRules(t *testing.T) {
	m := metrics.New(metrics.Options{AppID: "app1", Enabled: true, Rules: []metrics.Rule{{
		Name:   "dapr_component_pubsub_egress_count",
		Labels: []metrics.RuleLabel{{Name: "topic", Regex: map[string]string{"orders-N": `^orders-[0-9]+$`}}},
	}}})
	cm := newComponentMetrics("app1", "", m)
	bus, _ := psmemory.New("pubsub", nil)
	defer bus.Close()
	bus.SubscriptionsReady()
	w := cm.wrapPubsub("pubsub", bus)
	for _, topic := range []string{"orders-1", "orders-2", "other"} {
		_ = w.Publish(context.Background(), &pubsub.PublishRequest{Topic: topic, Data: []byte(`{}`)})
	}
	if v := value(t, m, "dapr_component_pubsub_egress_count", map[string]string{"topic": "orders-N"}); v != 2 {
		t.Errorf("egress_count{topic=orders-N} = %v, want 2", v)
	}
	if v := value(t, m, "dapr_component_pubsub_egress_count", map[string]string{"topic": "other"}); v != 1 {
		t.Errorf("egress_count{topic=other} = %v, want 1", v)
	}
	// The rule names the count only: the latencies keep the raw topic.
	if v := value(t, m, "dapr_component_pubsub_egress_latencies", map[string]string{"topic": "orders-1"}); v != 1 {
		t.Errorf("egress_latencies{topic=orders-1} = %v, want 1", v)
	}
}
