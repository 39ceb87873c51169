package pubsub

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/skiffd/skiff/dataplane/appchannel"
)

// recObserver records what the block reports.
type recObserver struct {
	mu   sync.Mutex
	got  []IngressStatus
	lat  []time.Duration
	bulk [][4]int // success, drop, retry, elapsed>0
}

func (r *recObserver) Ingress(_ string, st IngressStatus, el time.Duration) {
	r.mu.Lock()
	r.got = append(r.got, st)
	r.lat = append(r.lat, el)
	r.mu.Unlock()
}

func (r *recObserver) BulkIngress(_ string, s, d, rt int, el time.Duration) {
	r.mu.Lock()
	hasLat := 0
	if el > 0 {
		hasLat = 1
	}
	r.bulk = append(r.bulk, [4]int{s, d, rt, hasLat})
	r.mu.Unlock()
}

// stubApp answers every delivery with one status and body.
type stubApp struct {
	status int
	body   string
}

func (a *stubApp) Do(_ context.Context, _ *appchannel.Request, resp *appchannel.Response) error {
	time.Sleep(time.Microsecond) // some latency to measure
	resp.Status = a.status
	resp.Body = []byte(a.body)
	return nil
}

// TestObserveDeliveries: each outcome of a delivery reaches the observer
// as daprd's metrics label it, with the app call's latency, and messages
// the sidecar drops are reported without latency.
func TestObserveDeliveries(t *testing.T) {
	rule, err := NewRule(`event.type == "match"`, "/r")
	if err != nil {
		t.Fatal(err)
	}
	ev := []byte(`{"id":"1","specversion":"1.0","type":"match","data":1}`)
	for _, c := range []struct {
		name   string
		status int
		body   string
		data   []byte
		want   []IngressStatus
		lat    []bool
	}{
		{"success", 200, `{"status":"SUCCESS"}`, ev, []IngressStatus{IngressSuccess}, []bool{true}},
		{"empty 200", 200, ``, ev, []IngressStatus{IngressSuccess}, []bool{true}},
		{"retry", 200, `{"status":"RETRY"}`, ev, []IngressStatus{IngressRetry, IngressRetry}, []bool{true, false}},
		{"500", 500, ``, ev, []IngressStatus{IngressRetry, IngressRetry}, []bool{true, false}},
		{"drop", 200, `{"status":"DROP"}`, ev, []IngressStatus{IngressDropSuccess}, []bool{true}},
		{"404", 404, ``, ev, []IngressStatus{IngressDrop}, []bool{true}},
		{"no route", 200, ``, []byte(`{"id":"1","specversion":"1.0","type":"other"}`), []IngressStatus{IngressDropSuccess}, []bool{false}},
		{"not a cloudevent", 200, ``, []byte(`not json`), []IngressStatus{IngressDrop}, []bool{false}},
		{"expired", 200, ``, []byte(`{"id":"1","type":"match","expiration":"2001-01-01T00:00:00Z"}`), []IngressStatus{IngressDrop}, []bool{false}},
	} {
		obs := &recObserver{}
		d := &deliverer{a: &API{log: discardLog()}, c: &Component{}, s: &Subscription{Topic: "t", Rules: []*Rule{rule}},
			app: &stubApp{c.status, c.body}, obs: obs}
		_ = d.handle(context.Background(), &Message{Topic: "t", Data: c.data})
		if len(obs.got) != len(c.want) {
			t.Errorf("%s: reported %v, want %v", c.name, obs.got, c.want)
			continue
		}
		for i := range c.want {
			if obs.got[i] != c.want[i] || (obs.lat[i] > 0) != c.lat[i] {
				t.Errorf("%s: reported %v %v, want %v (latency %v)", c.name, obs.got, obs.lat, c.want, c.lat)
			}
		}
	}
}

// TestObserveDeadLetter: a failed message sent to the dead-letter topic is
// counted as daprd does: the app's retry, then a drop.
func TestObserveDeadLetter(t *testing.T) {
	obs := &recObserver{}
	dl := &sink{}
	d := &deliverer{a: &API{log: discardLog()}, c: &Component{PS: dl}, s: &Subscription{Topic: "t", DeadLetterTopic: "dlq", Rules: []*Rule{{Path: "/r"}}},
		app: &stubApp{500, ""}, obs: obs}
	if err := d.handle(context.Background(), &Message{Topic: "t", Data: []byte(`{"id":"1"}`)}); err != nil {
		t.Fatal(err)
	}
	if dl.last.Topic != "dlq" || !dl.last.DeadLetter {
		t.Errorf("dead-letter publish %+v", dl.last)
	}
	if len(obs.got) != 2 || obs.got[0] != IngressRetry || obs.got[1] != IngressDrop || obs.lat[1] != 0 {
		t.Errorf("reported %v %v", obs.got, obs.lat)
	}
}

// TestObserveBulk: a batch is reported once, with its outcomes counted.
func TestObserveBulk(t *testing.T) {
	obs := &recObserver{}
	d := &deliverer{a: &API{log: discardLog()}, c: &Component{}, s: &Subscription{Topic: "t", Rules: []*Rule{{Path: "/r"}}},
		app: &stubApp{404, ""}, obs: obs}
	msgs := []*Message{{Topic: "t", Data: []byte(`{"id":"1"}`)}, {Topic: "t", Data: []byte(`nope`)}}
	d.handleBulk(context.Background(), msgs)
	if len(obs.bulk) != 1 || obs.bulk[0] != [4]int{0, 2, 0, 1} {
		t.Errorf("reported %v", obs.bulk)
	}
}

// TestFinishObservedNoAlloc: reporting a pipelined delivery's outcome
// adds no allocation.
func TestFinishObservedNoAlloc(t *testing.T) {
	obs := &nopObserver{}
	d := &deliverer{a: &API{log: discardLog()}, c: &Component{}, s: &Subscription{Topic: "t"}, obs: obs}
	p := &pipe{d: d}
	d.pipes = []*pipe{p}
	f := &pend{msg: Message{Topic: "t"}, start: time.Now()}
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() { _ = d.finish(ctx, &f.msg, delivered, p.elapsed(f)) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
	if obs.n == 0 {
		t.Error("not observed")
	}
}

type nopObserver struct{ n int }

func (o *nopObserver) Ingress(string, IngressStatus, time.Duration)     { o.n++ }
func (o *nopObserver) BulkIngress(string, int, int, int, time.Duration) {}
