package blackbox

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// ensureMulticast makes sure some interface carries multicast, as mDNS
// (daprd's standalone name resolution) needs: if no interface is up with
// MULTICAST, it enables multicast on lo and routes 224.0.0.0/4 there (root
// needed), and undoes both when the test ends. With CI=true a machine where
// that cannot be done fails the test instead of skipping it.
func ensureMulticast(t *testing.T) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagMulticast != 0 {
			return
		}
	}
	fail := t.Skipf
	if os.Getenv("CI") == "true" {
		fail = t.Fatalf
	}
	if os.Geteuid() != 0 {
		fail("no multicast-capable interface for mDNS, and not root to enable multicast on lo")
		return
	}
	run := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("link", "set", "lo", "multicast", "on"); err != nil {
		fail("%v", err)
		return
	}
	t.Cleanup(func() { _ = run("link", "set", "lo", "multicast", "off") })
	if err := run("route", "add", "224.0.0.0/4", "dev", "lo"); err == nil {
		t.Cleanup(func() { _ = run("route", "del", "224.0.0.0/4", "dev", "lo") })
	}
}

type echoReply struct {
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	RawQuery string            `json:"rawQuery"`
	Headers  map[string]string `json:"headers"`
	Body     string            `json:"body"`
}

// remoteIDs are unique per test process: mDNS answers are seen by every
// process on the network, other test runs included.
func remoteID(name string) string { return name + "-" + strconv.Itoa(os.Getpid()) }

// startRemote starts an app and its sidecar announcing appID on loopback.
func startRemote(t *testing.T, appID string, args ...string) *Sidecar {
	app := startApp(t, 0)
	return startSidecar(t, Opts{AppID: appID, AppPort: app.Port, Env: []string{"DAPR_HOST_IP=127.0.0.1"},
		Args: append([]string{"--dapr-internal-grpc-port", strconv.Itoa(freePort(t))}, args...)})
}

// TestInvokeRemote: two real skiffd processes with two real apps on
// loopback; A invokes B's methods through B's sidecar (mDNS, internal
// gRPC), everything the app answers passes through.
func TestInvokeRemote(t *testing.T) {
	ensureMulticast(t)
	idA, idB := remoteID("remote-a"), remoteID("remote-b")
	mA, mB := freePort(t), freePort(t)
	a := startRemote(t, idA, "--metrics-port", strconv.Itoa(mA))
	// B on a random internal port, as daprd without the flag.
	appB := startApp(t, 0)
	b := startSidecar(t, Opts{AppID: idB, AppPort: appB.Port, Env: []string{"DAPR_HOST_IP=127.0.0.1"},
		Args: []string{"--metrics-port", strconv.Itoa(mB)}})

	r := a.do("POST", "/v1.0/invoke/"+idB+"/method/echo/orders/1?x=1&y=a%20b", []byte(`{"n":1}`),
		"Content-Type", "application/json", "X-Test", "one", "dapr-caller-app-id", "spoofed")
	wantStatus(t, "POST", r, 200)
	var e echoReply
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("echo: %v %s", err, r.Body)
	}
	if e.Method != "POST" || e.Path != "/echo/orders/1" || e.RawQuery != "x=1&y=a%20b" || e.Body != `{"n":1}` {
		t.Errorf("B's app saw %+v", e)
	}
	for k, v := range map[string]string{
		"Content-Type": "application/json", "X-Test": "one",
		"Dapr-Caller-App-Id": idA, "Dapr-Callee-App-Id": idB, "X-Forwarded-For": "127.0.0.1",
	} {
		if e.Headers[k] != v {
			t.Errorf("B's app got %s=%q, want %q (all: %v)", k, e.Headers[k], v, e.Headers)
		}
	}
	if r.Header.Get("X-App-Reply") != "echo" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("answer headers %v", r.Header)
	}

	// GET through the header form.
	r = a.do("GET", "/echo/h?q=2", nil, "dapr-app-id", idB)
	wantStatus(t, "GET dapr-app-id", r, 200)
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Method != "GET" || e.Path != "/echo/h" || e.RawQuery != "q=2" {
		t.Errorf("header form: %+v %v", e, err)
	}

	// The app's statuses, headers and bodies pass through as daprd relays them.
	for _, code := range []int{201, 400, 404, 500, 503} {
		r := a.do("GET", "/v1.0/invoke/"+idB+"/method/status/"+strconv.Itoa(code), nil)
		if r.Status != code || string(r.Body) != fmt.Sprintf("status %d", code) || r.Header.Get("X-Status") != strconv.Itoa(code) {
			t.Errorf("status %d: got %d %q %v", code, r.Status, r.Body, r.Header)
		}
	}
	// A larger body both ways.
	big := strings.Repeat("0123456789abcdef", 16<<10) // 256 KiB
	r = a.do("PUT", "/v1.0/invoke/"+idB+"/method/echo-raw/x", []byte(big), "Content-Type", "text/plain")
	if r.Status != 200 || string(r.Body) != big || r.Header.Get("X-Body-Len") != strconv.Itoa(len(big)) {
		t.Errorf("big: %d len %d", r.Status, len(r.Body))
	}
	// And B reaches A the other way round.
	wantStatus(t, "B to A", b.do("GET", "/v1.0/invoke/"+idA+"/method/status/202", nil), 202)

	// daprd's service invocation metrics: sent/received on the caller,
	// received/sent on the callee.
	fa, fb := scrape(t, mA), scrape(t, mB)
	for _, c := range []struct {
		fams   map[string]*dto.MetricFamily
		name   string
		labels map[string]string
		min    float64
	}{
		{fa, "dapr_runtime_service_invocation_req_sent_total", map[string]string{"app_id": idA, "dst_app_id": idB, "type": "unary"}, 8},
		{fa, "dapr_runtime_service_invocation_res_recv_total", map[string]string{"app_id": idA, "src_app_id": idB, "status": "404", "type": "unary"}, 1},
		{fb, "dapr_runtime_service_invocation_req_recv_total", map[string]string{"app_id": idB, "src_app_id": idA}, 8},
		{fb, "dapr_runtime_service_invocation_res_sent_total", map[string]string{"app_id": idB, "dst_app_id": idA, "status": "503"}, 1},
	} {
		m := series(c.fams[c.name], c.labels)
		if m == nil || m.GetCounter().GetValue() < c.min {
			t.Errorf("%s%v: %v, want at least %v", c.name, c.labels, m, c.min)
		}
	}
	if m := series(fa["dapr_runtime_service_invocation_res_recv_latency_ms"], map[string]string{"app_id": idA, "src_app_id": idB, "status": "200"}); m == nil || m.GetHistogram().GetSampleCount() < 1 {
		t.Errorf("latency: %v", m)
	}

	// An app id nobody announces: daprd's mDNS answer.
	nobody := remoteID("nobody")
	wantAPIError(t, "unknown id", a.do("GET", "/v1.0/invoke/"+nobody+"/method/x", nil), 500, "ERR_DIRECT_INVOKE",
		"failed to invoke, id: "+nobody+", err: couldn't find service: "+nobody)

	// B's sidecar killed: a clear error naming B, in bounded time.
	_ = b.cmd.Process.Kill()
	<-b.done
	b.MarkStopped()
	start := time.Now()
	e2 := wantAPIError(t, "target killed", a.do("GET", "/v1.0/invoke/"+idB+"/method/status/200", nil), 500, "ERR_DIRECT_INVOKE",
		"failed to invoke, id: "+idB+", err: failed to invoke target "+idB+" after 1 retries. Error: rpc error: code = Unavailable")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("target killed: answered after %v", d)
	}
	t.Logf("target killed: %v: %s", time.Since(start), e2.Message)
	// A and its app are fine.
	wantStatus(t, "A local", a.do("GET", "/v1.0/invoke/"+idA+"/method/status/200", nil), 200)
}

// TestInvokeRemoteACL: access control applies on the callee's sidecar.
// As daprd without mTLS (standalone, no Sentry), the caller's identity is
// unknown, so the global defaultAction decides: app policies (here one
// allowing the caller) need an mTLS identity and do not apply.
func TestInvokeRemoteACL(t *testing.T) {
	ensureMulticast(t)
	dir := t.TempDir()
	idA, idDeny, idAllow := remoteID("acl-a"), remoteID("acl-deny"), remoteID("acl-allow")
	conf := func(name, def string) string {
		return writeFile(t, dir, name+".yaml", `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: `+name+`
spec:
  accessControl:
    defaultAction: `+def+`
    trustDomain: public
    policies:
    - appId: `+idA+`
      defaultAction: `+map[string]string{"deny": "allow", "allow": "deny"}[def]+`
      trustDomain: public
      namespace: default
      operations:
      - name: /echo/*
        httpVerb: ["POST"]
        action: `+map[string]string{"deny": "allow", "allow": "deny"}[def]+`
`)
	}
	a := startRemote(t, idA)
	startRemote(t, idDeny, "--config", conf("deny", "deny"))
	startRemote(t, idAllow, "--config", conf("allow", "allow"))

	for _, verb := range []string{"GET", "POST", "DELETE"} {
		r := a.do(verb, "/v1.0/invoke/"+idDeny+"/method/echo/x", nil)
		wantAPIError(t, "deny "+verb, r, 403, "ERR_DIRECT_INVOKE",
			"failed to invoke, id: "+idDeny+", err: rpc error: code = PermissionDenied desc = access control policy has denied access to id:  operation: echo/x verb: "+verb)
		r = a.do(verb, "/v1.0/invoke/"+idAllow+"/method/echo/x", nil)
		wantStatus(t, "allow "+verb, r, 200)
	}
	// The caller's own app is never subject to its sidecar's list.
	wantStatus(t, "self", a.do("GET", "/v1.0/invoke/"+idA+"/method/status/200", nil), 200)
}
