package metrics

import (
	"testing"
	"time"
)

func TestServiceInvocation(t *testing.T) {
	m := New(Options{AppID: "checkout", Enabled: true, Rules: []Rule{{Name: siReqRecv, Labels: []RuleLabel{{Name: "src_app_id", Regex: map[string]string{"web": "^web-.*"}}}}}})
	si := m.ServiceInvocation
	si.RequestSent("orders", false)
	si.RequestSent("orders", false)
	si.RequestSent("orders", true)
	si.ResponseReceived("orders", 200, false, 12*time.Millisecond)
	si.ResponseReceived("orders", 14, true, 0)
	si.RequestReceived("web-1")
	si.RequestReceived("web-2")
	si.ResponseSent("web-1", 200)
	fams := gather(t, m)
	check := func(name string, want map[string]float64) {
		t.Helper()
		got := counts(fams[name])
		if len(got) != len(want) {
			t.Errorf("%s: %v", name, got)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s %s = %v (all %v)", name, k, got[k], got)
			}
		}
	}
	check(siReqSent, map[string]float64{"app_id=checkout,dst_app_id=orders,type=unary": 2, "app_id=checkout,dst_app_id=orders,type=streaming": 1})
	check(siResRecv, map[string]float64{"app_id=checkout,src_app_id=orders,status=200,type=unary": 1, "app_id=checkout,src_app_id=orders,status=14,type=streaming": 1})
	check(siReqRecv, map[string]float64{"app_id=checkout,src_app_id=web": 2})
	check(siResSent, map[string]float64{"app_id=checkout,dst_app_id=web-1,status=200": 1})
	h := histos(fams[siResLatency])
	if len(h) != 1 || h["app_id=checkout,src_app_id=orders,status=200"].GetSampleSum() != 12 {
		t.Errorf("latency %v", h)
	}
	var off *ServiceInvocation
	off.RequestSent("x", false) // nil records nothing
	if New(Options{AppID: "a"}).ServiceInvocation != nil {
		t.Error("recorder with metrics off")
	}
}

func TestServiceInvocationNoAlloc(t *testing.T) {
	si := New(Options{AppID: "a", Enabled: true}).ServiceInvocation
	run := func() {
		si.RequestSent("b", false)
		si.ResponseReceived("b", 200, false, time.Millisecond)
		si.RequestReceived("c")
		si.ResponseSent("c", 200)
	}
	run()
	if a := testing.AllocsPerRun(1000, run); a != 0 {
		t.Errorf("%v allocations per run", a)
	}
}
