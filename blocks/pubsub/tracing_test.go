package pubsub

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/skiffd/skiff/dataplane/appchannel"
	"github.com/skiffd/skiff/dataplane/router"
)

// fakeTracer records the spans the block starts.
type fakeTracer struct {
	mu        sync.Mutex
	n         int
	parents   []string // StartDelivery: the event traceparent each span is under
	producers []string // StartProducer: the parent of each entry span
	ended     []string // each end's verdict ("ok", "err", or a status)
}

func (f *fakeTracer) next() string {
	f.n++
	return fmt.Sprintf("00-4bf92f3577b34da6a3ce929d0e0e4736-%016d-01", f.n)
}

func (f *fakeTracer) StartDelivery(_ context.Context, _ string, traceparent, _ []byte) ([]byte, func(error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.parents = append(f.parents, string(traceparent))
	return []byte(f.next()), func(err error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if err != nil {
			f.ended = append(f.ended, "err")
		} else {
			f.ended = append(f.ended, "ok")
		}
	}
}

func (f *fakeTracer) StartProducer(_ string, parent, _ []byte) ([]byte, func(int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.producers = append(f.producers, string(parent))
	return []byte(f.next()), func(status int) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.ended = append(f.ended, http.StatusText(status))
	}
}

// collect keeps every message published.
type collect struct {
	sink
	all []string
}

func (s *collect) Publish(_ context.Context, r *PublishRequest) error {
	s.mu.Lock()
	s.all = append(s.all, string(r.Data))
	s.mu.Unlock()
	return nil
}

// TestBulkPublishTrace: with tracing on each entry of a bulk publish gets
// its own producer span under the API span, its CloudEvent carries that
// span's traceparent, and the spans end with the request's status.
func TestBulkPublishTrace(t *testing.T) {
	ft := &fakeTracer{}
	s := &collect{}
	a, err := New(Config{AppID: "app", Tracer: ft}, []Entry{{Name: "ps", Component: s}})
	if err != nil {
		t.Fatal(err)
	}
	const apiSpan = "00-4bf92f3577b34da6a3ce929d0e0e4736-aaaaaaaaaaaaaaaa-01"
	tbl := router.New()
	tbl.MustAdd(a.Routes()...)
	c := &router.Ctx{}
	body := `[{"entryId":"1","event":{"a":1},"contentType":"application/json"},{"entryId":"2","event":2,"contentType":"application/json"}]`
	raw := "POST /v1.0-alpha1/publish/bulk/ps/orders HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := c.Req.Parse([]byte(raw), 8192); err != nil {
		t.Fatal(err)
	}
	c.Body = []byte(body)
	c.Ctx = context.Background()
	c.Trace = append(c.Trace, apiSpan...)
	route, res := tbl.Match(c.Req.MethodID, c.Req.Path(), c)
	if res != router.Found {
		t.Fatal("no route")
	}
	route.Handler(c)
	if off := c.TakeOffload(); off != nil {
		off(c)
	}
	if c.StatusCode() != 204 {
		t.Fatalf("status %d: %s", c.StatusCode(), c.RespBody)
	}
	if len(ft.producers) != 2 || ft.producers[0] != apiSpan || ft.producers[1] != apiSpan {
		t.Fatalf("entry spans under %q", ft.producers)
	}
	if len(s.all) != 2 {
		t.Fatalf("published %d", len(s.all))
	}
	for i, ev := range s.all {
		want := `"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-` + fmt.Sprintf("%016d", i+1) + `-01"`
		if !strings.Contains(ev, want) {
			t.Errorf("entry %d carries no trace of its own span: %s", i, ev)
		}
	}
	if strings.Join(ft.ended, ",") != "No Content,No Content" {
		t.Errorf("entry spans ended %q", ft.ended)
	}
}

// TestBulkSpansOff: tracing off (no tracer, or no API span) costs bulk
// publish nothing.
func TestBulkSpansOff(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	a, _ := New(Config{AppID: "app"}, []Entry{{Name: "ps", Component: &sink{}}})
	c := &router.Ctx{}
	c.Trace = append(c.Trace, "00-4bf92f3577b34da6a3ce929d0e0e4736-aaaaaaaaaaaaaaaa-01"...)
	if n := testing.AllocsPerRun(100, func() {
		if tps, ends := a.bulkSpans(c, 3, nil); tps != nil || ends != nil {
			t.Fatal("spans without a tracer")
		}
	}); n != 0 {
		t.Errorf("no tracer: %v allocations", n)
	}
	a.tracer = &fakeTracer{}
	c.Trace = c.Trace[:0]
	if n := testing.AllocsPerRun(100, func() { _, _ = a.bulkSpans(c, 3, nil) }); n != 0 {
		t.Errorf("no API span: %v allocations", n)
	}
}

// TestBulkSubscribeTrace: with tracing on, each event of a bulk delivery
// with a traceid gets a "pubsub/<topic>" span under it, the request
// carries the last one's traceparent, and the spans end with the verdict.
func TestBulkSubscribeTrace(t *testing.T) {
	var mu sync.Mutex
	var gotTP string
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotTP = r.Header.Get("traceparent")
		mu.Unlock()
		w.WriteHeader(200)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	ch, err := appchannel.New(appchannel.Config{Address: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Protocol: "http"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })

	ft := &fakeTracer{}
	d := &deliverer{a: &API{log: discardLog(), tracer: ft}, s: &Subscription{PubsubName: "ps", Topic: "orders", Rules: []*Rule{{Path: "/orders"}}}, app: ch}
	tp1 := "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"
	tp2 := "00-4bf92f3577b34da6a3ce929d0e0e4736-2222222222222222-01"
	msgs := []*Message{
		{Topic: "orders", Data: []byte(`{"id":"1","specversion":"1.0","traceid":"` + tp1 + `","data":1}`)},
		{Topic: "orders", Data: []byte(`{"id":"2","specversion":"1.0","data":2}`)},
		{Topic: "orders", Data: []byte(`{"id":"3","specversion":"1.0","traceid":"` + tp2 + `","data":3}`)},
	}
	errs := d.handleBulk(context.Background(), msgs)
	for i, e := range errs {
		if e != nil {
			t.Fatalf("message %d: %v", i, e)
		}
	}
	if strings.Join(ft.parents, " ") != tp1+" "+tp2 {
		t.Fatalf("spans under %q", ft.parents)
	}
	mu.Lock()
	defer mu.Unlock()
	if gotTP != "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000002-01" {
		t.Errorf("the app got traceparent %q, want the last span's", gotTP)
	}
	if strings.Join(ft.ended, ",") != "ok,ok" {
		t.Errorf("spans ended %q", ft.ended)
	}
}
