package invoke

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/skiffd/skiff/blocks/acl"
	"github.com/skiffd/skiff/blocks/resiliency"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/internalrpc"
	"github.com/skiffd/skiff/dataplane/internalrpc/internalpb"
	"github.com/skiffd/skiff/dataplane/metrics"
	"github.com/skiffd/skiff/dataplane/router"
)

// table is a resolver over a fixed map, for these tests only: skiffd
// resolves with mDNS (dataplane/nameresolution/mdns).
type table struct {
	mu     sync.Mutex
	addrs  map[string]string
	forgot []string
}

func (r *table) ResolveID(_ context.Context, id, _ string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.addrs[id]; ok {
		return a, nil
	}
	return "", errors.New("couldn't find service: " + id)
}
func (r *table) Forget(id, addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forgot = append(r.forgot, id+"="+addr)
}
func (r *table) Close() error { return nil }

type pair struct {
	caller    *Service
	tbl       *router.Table
	callee    *Service
	res       *table
	server    *internalrpc.Server
	callerReg prometheus.Gatherer
	calleeReg prometheus.Gatherer
}

// newPair builds caller "myapp" and callee "b" (serving app a) joined by a
// real internal gRPC server.
func newPair(t *testing.T, a *app, list *acl.List) *pair {
	t.Helper()
	p := &pair{res: &table{addrs: map[string]string{}}}
	m1 := metrics.New(metrics.Options{AppID: appID, Enabled: true})
	m2 := metrics.New(metrics.Options{AppID: "b", Enabled: true})
	p.callerReg, p.calleeReg = m1.Gatherer(), m2.Gatherer()
	var err error
	client := internalrpc.NewClient(1 << 20)
	t.Cleanup(client.Close)
	p.callee, _ = newService(t, a.port(), func(c *Config) {
		c.AppID = "b"
		c.Remote = &Remote{ACL: list, Metrics: m2.ServiceInvocation}
	})
	p.server, err = internalrpc.Listen("127.0.0.1:0", 1<<20, p.callee.CallLocal())
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.server.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		p.server.Stop(ctx)
	})
	p.res.addrs["b"] = "127.0.0.1:" + strconv.Itoa(p.server.Port())
	p.caller, p.tbl = newService(t, a.port(), func(c *Config) {
		c.ReplayLimit = 1 << 20
		c.Remote = &Remote{Resolver: p.res, Client: client, Metrics: m1.ServiceInvocation,
			HostAddress: "10.1.2.3", HostName: "host1"}
	})
	return p
}

func TestRemoteInvoke(t *testing.T) {
	a := newApp(t)
	p := newPair(t, a, nil)
	head := "POST /v1.0/invoke/b/method/neworder/x?q=1&r=a%20b HTTP/1.1\r\nHost: localhost:3500\r\n" +
		"Content-Type: application/json\r\nX-Custom: one\r\nX-Custom: two\r\ndapr-caller-app-id: spoofed\r\n" +
		"Traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nContent-Length: 7\r\n\r\n"
	c, _ := exchange(t, p.tbl, p.caller.Fallback(), head, []byte(`{"a":1}`), nil)
	if c.StatusCode() != 200 {
		t.Fatalf("status %d %s", c.StatusCode(), c.RespBody)
	}
	got := a.seen()
	if got.Method != "POST" || got.URI != "/neworder/x?q=1&r=a%20b" || got.Len != 7 {
		t.Fatalf("app saw %+v", got)
	}
	for k, v := range map[string]string{
		"Content-Type": "application/json", "X-Custom": "one,two", "Dapr-Caller-App-Id": appID,
		"Dapr-Callee-App-Id": "b", "Dapr-App-Id": "", "X-Forwarded-For": "10.1.2.3", "X-Forwarded-Host": "host1",
		"Forwarded":   "for=10.1.2.3;by=10.1.2.3;host=host1",
		"Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	} {
		if g := strings.Join(got.Header.Values(k), ","); g != v {
			t.Errorf("app got %s=%q, want %q", k, g, v)
		}
	}
	if v := header(c, "Set-Cookie"); strings.Join(v, ",") != "a=1,b=2" {
		t.Errorf("Set-Cookie %v", v)
	}
	if v := header(c, "Content-Type"); len(v) != 1 || v[0] != "application/json" {
		t.Errorf("Content-Type %v", v)
	}
	if !strings.Contains(string(c.RespBody), `"len":7`) {
		t.Errorf("body %s", c.RespBody)
	}
	// Every verb, the header form too, and app statuses pass through.
	for _, m := range []string{"GET", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		c, _ := exchange(t, p.tbl, p.caller.Fallback(), m+" /v1.0/invoke/b/method/v HTTP/1.1\r\n\r\n", nil, nil)
		if c.StatusCode() != 200 || a.seen().Method != m {
			t.Errorf("%s: %d, app saw %s", m, c.StatusCode(), a.seen().Method)
		}
	}
	c, _ = exchange(t, p.tbl, p.caller.Fallback(), "GET /some/path?z=9 HTTP/1.1\r\ndapr-app-id: b\r\n\r\n", nil, nil)
	if c.StatusCode() != 200 || a.seen().URI != "/some/path?z=9" {
		t.Errorf("header form: %d %s", c.StatusCode(), a.seen().URI)
	}
	for _, code := range []int{201, 400, 404, 500, 503} {
		c, _ := exchange(t, p.tbl, p.caller.Fallback(), "GET /v1.0/invoke/b/method/status/"+strconv.Itoa(code)+" HTTP/1.1\r\n\r\n", nil, nil)
		if c.StatusCode() != code || string(c.RespBody) != "app says "+strconv.Itoa(code) {
			t.Errorf("%d: got %d %q", code, c.StatusCode(), c.RespBody)
		}
	}
	// A streamed request body reaches the app whole.
	body := pattern(300 << 10)
	c, _ = exchange(t, p.tbl, p.caller.Fallback(), "POST /v1.0/invoke/b/method/up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", nil, strings.NewReader(string(body)))
	if c.StatusCode() != 200 || a.seen().Sum != sum(body) {
		t.Errorf("streamed body: %d %+v", c.StatusCode(), a.seen().Len)
	}
	// Metrics on both sides, as daprd's.
	if n := testutil.ToFloat64(mustCounter(t, p.callerReg, "dapr_runtime_service_invocation_req_sent_total", map[string]string{"app_id": appID, "dst_app_id": "b", "type": "unary"})); n < 13 {
		t.Errorf("req_sent %v", n)
	}
	if n := testutil.ToFloat64(mustCounter(t, p.callerReg, "dapr_runtime_service_invocation_res_recv_total", map[string]string{"app_id": appID, "src_app_id": "b", "status": "404", "type": "unary"})); n != 1 {
		t.Errorf("res_recv 404 %v", n)
	}
	if n := testutil.ToFloat64(mustCounter(t, p.calleeReg, "dapr_runtime_service_invocation_req_recv_total", map[string]string{"app_id": "b", "src_app_id": appID})); n < 13 {
		t.Errorf("req_recv %v", n)
	}
	if n := testutil.ToFloat64(mustCounter(t, p.calleeReg, "dapr_runtime_service_invocation_res_sent_total", map[string]string{"app_id": "b", "dst_app_id": appID, "status": "503"})); n != 1 {
		t.Errorf("res_sent 503 %v", n)
	}
}

func mustCounter(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue next
				}
			}
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return nil
}

func TestRemoteErrors(t *testing.T) {
	a := newApp(t)
	p := newPair(t, a, nil)
	c, _ := exchange(t, p.tbl, p.caller.Fallback(), "GET /v1.0/invoke/nobody/method/x HTTP/1.1\r\n\r\n", nil, nil)
	if c.StatusCode() != 500 || !strings.Contains(string(c.RespBody), `"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: nobody, err: couldn't find service: nobody"`) {
		t.Errorf("unknown: %d %s", c.StatusCode(), c.RespBody)
	}
	// Our own id stays local (no gRPC hop, no metrics).
	c, _ = exchange(t, p.tbl, p.caller.Fallback(), "GET /v1.0/invoke/myapp/method/x HTTP/1.1\r\n\r\n", nil, nil)
	if c.StatusCode() != 200 {
		t.Errorf("local: %d %s", c.StatusCode(), c.RespBody)
	}
	// The callee's sidecar gone: a transport error, its address forgotten.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	p.server.Stop(ctx)
	cancel()
	c, _ = exchange(t, p.tbl, p.caller.Fallback(), "GET /v1.0/invoke/b/method/x HTTP/1.1\r\n\r\n", nil, nil)
	if c.StatusCode() != 500 || !strings.Contains(string(c.RespBody), "failed to invoke, id: b, err: failed to invoke target b after 0 retries. Error: rpc error: code = Unavailable") {
		t.Errorf("down: %d %s", c.StatusCode(), c.RespBody)
	}
	if len(p.res.forgot) == 0 || !strings.HasPrefix(p.res.forgot[0], "b=127.0.0.1:") {
		t.Errorf("forgot %v", p.res.forgot)
	}
}

func TestRemoteACL(t *testing.T) {
	a := newApp(t)
	deny, err := acl.Compile(&resources.AccessControlSpec{DefaultAction: "deny", TrustDomain: "public", Policies: []resources.AppPolicySpec{
		// An app policy allowing the caller does not apply without mTLS:
		// daprd cannot prove who calls, so the global action decides.
		{AppID: appID, DefaultAction: "allow", TrustDomain: "public", Namespace: "default"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	p := newPair(t, a, deny)
	c, _ := exchange(t, p.tbl, p.caller.Fallback(), "POST /v1.0/invoke/b/method/orders HTTP/1.1\r\n\r\n", nil, nil)
	want := `{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: b, err: rpc error: code = PermissionDenied desc = access control policy has denied access to id:  operation: orders verb: POST"}`
	if c.StatusCode() != 403 || string(c.RespBody) != want {
		t.Errorf("deny: %d %s", c.StatusCode(), c.RespBody)
	}
	allow, err := acl.Compile(&resources.AccessControlSpec{DefaultAction: "allow", TrustDomain: "public"})
	if err != nil {
		t.Fatal(err)
	}
	p = newPair(t, a, allow)
	c, _ = exchange(t, p.tbl, p.caller.Fallback(), "POST /v1.0/invoke/b/method/orders HTTP/1.1\r\n\r\n", nil, nil)
	if c.StatusCode() != 200 {
		t.Errorf("allow: %d %s", c.StatusCode(), c.RespBody)
	}
}

// TestRemoteResiliency: an app policy applies to calls to another app's
// sidecar as to our own app.
func TestRemoteResiliency(t *testing.T) {
	a := newApp(t)
	p := newPair(t, a, nil)
	two := 2
	res, err := resiliency.New([]resources.Resiliency{{Name: "r", Spec: resources.ResiliencySpec{
		Policies: resources.ResiliencyPolicies{Retries: map[string]resources.Retry{"r": {Duration: "1ms", MaxRetries: &two}}},
		Targets:  resources.ResiliencyTargets{Apps: map[string]resources.EndpointPolicyNames{"b": {Retry: "r"}}},
	}}}, resiliency.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.caller.cfg.Remote.Policy = res.App
	calls := func() float64 {
		mfs, _ := p.calleeReg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "dapr_runtime_service_invocation_req_recv_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return 0
	}
	// The app's 503 is a failure: retried twice, then relayed as sent.
	before := calls()
	c, _ := exchange(t, p.tbl, p.caller.Fallback(), "GET /v1.0/invoke/b/method/status/503 HTTP/1.1\r\n\r\n", nil, nil)
	if c.StatusCode() != 503 || string(c.RespBody) != "app says 503" {
		t.Errorf("503: %d %s", c.StatusCode(), c.RespBody)
	}
	if n := calls() - before; n != 3 {
		t.Errorf("503: %v calls, want 3", n)
	}
	// A 2xx is not retried.
	before = calls()
	c, _ = exchange(t, p.tbl, p.caller.Fallback(), "POST /v1.0/invoke/b/method/ok HTTP/1.1\r\n\r\n", []byte("x"), nil)
	if c.StatusCode() != 200 || calls()-before != 1 {
		t.Errorf("200: %d after %v calls", c.StatusCode(), calls()-before)
	}
	// No policy for other ids: daprd's built-in retries only on transport
	// failures, so an app's 503 is relayed after one call.
	p.caller.cfg.Remote.Policy = nil
	p.caller.cfg.Remote.BuiltIn = res.BuiltIn(resiliency.BuiltInServiceRetries)
	before = calls()
	c, _ = exchange(t, p.tbl, p.caller.Fallback(), "GET /v1.0/invoke/b/method/status/503 HTTP/1.1\r\n\r\n", nil, nil)
	if c.StatusCode() != 503 || calls()-before != 1 {
		t.Errorf("built-in: %d after %v calls", c.StatusCode(), calls()-before)
	}
}

func FuzzRemoteTarget(f *testing.F) {
	for _, s := range []string{"b", "b.ns", "myapp", "myapp.ns", "a.b.c", ".ns", "http://x", ""} {
		f.Add(s)
	}
	s := New(Config{AppID: appID, Namespace: "default", Remote: &Remote{}})
	f.Fuzz(func(t *testing.T, target string) {
		id, ns, ok := s.remoteTarget([]byte(target))
		if !ok {
			return
		}
		if id == "" || id == appID || strings.Contains(id, ".") || strings.Contains(ns, ".") {
			t.Fatalf("%q: id %q ns %q", target, id, ns)
		}
		// "id." keeps our namespace, as an empty one.
		if target != id && target != id+"."+ns && !(target == id+"." && ns == "default") {
			t.Fatalf("%q: id %q ns %q do not make it up", target, id, ns)
		}
	})
}

func FuzzNormalizeOperation(f *testing.F) {
	for _, s := range []string{"orders", "/a//b/", "a%2Fb", "x?y=1", "%zz", "//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, op string) {
		n := normalizeOperation(op)
		if i := strings.IndexByte(n, '?'); i >= 0 {
			n = n[:i]
		}
		if strings.Contains(n, "//") {
			t.Fatalf("%q -> %q keeps //", op, n)
		}
	})
}

func TestTraceBin(t *testing.T) {
	tp := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	bin, ok := traceBin(tp)
	if !ok || len(bin) != 29 {
		t.Fatalf("%q %v", bin, ok)
	}
	if back, ok := traceparentFromBin(bin); !ok || back != tp {
		t.Fatalf("%q %v", back, ok)
	}
	for _, bad := range []string{"", "00-zz", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x"} {
		if _, ok := traceBin(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, ok := traceparentFromBin("short"); ok {
		t.Error("short accepted")
	}
}

func FuzzTraceBin(f *testing.F) {
	f.Add("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	f.Fuzz(func(t *testing.T, s string) {
		if tp, ok := traceparentFromBin(s); ok {
			if _, ok := traceBin(tp); !ok {
				t.Fatalf("%q -> %q not re-encodable", s, tp)
			}
		}
		if bin, ok := traceBin(s); ok {
			if back, ok := traceparentFromBin(bin); !ok || back[3:] != lower(s[3:]) {
				t.Fatalf("%q -> %q", s, back)
			}
		}
	})
}

func lower(s string) string { return strings.ToLower(s) }

// TestRemoteIdentityLastValue: identity metadata forwarded by an older
// caller (its app's values, then its own) reaches the app as the last one.
func TestRemoteIdentityLastValue(t *testing.T) {
	a := newApp(t)
	p := newPair(t, a, nil)
	req := &internalpb.InternalInvokeRequest{
		Ver: internalpb.APIVersion_V1,
		Metadata: map[string]*internalpb.ListStringValue{
			"dapr-caller-app-id": {Values: []string{"spoofed", "real"}},
			"x-multi":            {Values: []string{"1", "2"}},
		},
		Message: &internalpb.InvokeRequest{Method: "who", HttpExtension: &internalpb.HTTPExtension{Verb: internalpb.HTTPExtension_GET}},
	}
	resp, _, err := p.callee.callLocal(context.Background(), req, nil)
	if err != nil || resp.GetStatus().GetCode() != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	h := a.seen().Header
	if strings.Join(h.Values("Dapr-Caller-App-Id"), ",") != "real" || strings.Join(h.Values("X-Multi"), ",") != "1,2" {
		t.Errorf("app got %v", h)
	}
}
