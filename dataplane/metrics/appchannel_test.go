package metrics

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func histos(f *dto.MetricFamily) map[string]*dto.Histogram {
	out := map[string]*dto.Histogram{}
	for _, m := range f.GetMetric() {
		out[labels(m)] = m.GetHistogram()
	}
	return out
}

func TestAppChannelLowCardinality(t *testing.T) {
	m := New(Options{AppID: "app", Enabled: true})
	a := m.AppChannel
	a.AppCall([]byte("POST"), []byte("/orders/1"), 200, 13, 11, 2500*time.Microsecond)
	a.AppCall([]byte("GET"), []byte("/orders/2"), 200, 0, 0, time.Millisecond)
	a.AppCall([]byte("POST"), []byte("/x"), 500, 5, 0, 0)
	fams := gather(t, m)
	got := counts(fams["dapr_http_client_completed_count"])
	if got["app_id=app,status=200"] != 2 || got["app_id=app,status=500"] != 1 || len(got) != 2 {
		t.Errorf("completed %v", got)
	}
	lat := histos(fams["dapr_http_client_roundtrip_latency"])["app_id=app,status=200"]
	// daprd counts whole milliseconds: 2.5 ms is 2.
	if lat.GetSampleCount() != 2 || lat.GetSampleSum() != 3 {
		t.Errorf("latency %v", lat)
	}
	sent := histos(fams["dapr_http_client_sent_bytes"])
	if h := sent["app_id=app,status="]; h.GetSampleCount() != 3 || h.GetSampleSum() != 18 || len(sent) != 1 {
		t.Errorf("sent %v", sent)
	}
	recv := histos(fams["dapr_http_client_received_bytes"])
	if h := recv["app_id=app"]; h.GetSampleCount() != 3 || h.GetSampleSum() != 11 {
		t.Errorf("received %v", recv)
	}
	if fams["dapr_http_healthprobes_completed_count"] != nil {
		t.Error("probe series without a probe")
	}
}

func TestAppChannelIncreasedCardinality(t *testing.T) {
	m := New(Options{AppID: "app", Enabled: true, IncreasedCardinality: true})
	m.AppChannel.AppCall([]byte("POST"), []byte("/neworder"), 201, 1, 1, 0)
	m.AppChannel.AppCall([]byte("POST"), []byte("/neworder"), 201, 1, 1, 0)
	fams := gather(t, m)
	if got := counts(fams["dapr_http_client_completed_count"]); got["app_id=app,method=POST,path=/neworder,status=201"] != 2 {
		t.Errorf("completed %v", got)
	}
	if _, ok := histos(fams["dapr_http_client_sent_bytes"])["app_id=app,method=POST,path=/neworder,status="]; !ok {
		t.Errorf("sent %v", histos(fams["dapr_http_client_sent_bytes"]))
	}
}

func TestHealthProbes(t *testing.T) {
	m := New(Options{AppID: "app", Enabled: true})
	m.AppChannel.HealthProbe(200, 3*time.Millisecond)
	m.AppChannel.HealthProbe(500, 0)
	m.AppChannel.HealthProbe(200, time.Millisecond)
	fams := gather(t, m)
	got := counts(fams["dapr_http_healthprobes_completed_count"])
	if got["app_id=app,status=200"] != 2 || got["app_id=app,status=500"] != 1 {
		t.Errorf("probes %v", got)
	}
	if h := histos(fams["dapr_http_healthprobes_roundtrip_latency"])["app_id=app,status=200"]; h.GetSampleSum() != 4 {
		t.Errorf("probe latency %v", h)
	}
	if fams["dapr_http_client_completed_count"] != nil {
		t.Error("a probe counted as an app call")
	}
}

func TestErrorCodes(t *testing.T) {
	m := New(Options{AppID: "app", Enabled: true})
	if m.ErrorCodes != nil {
		t.Fatal("error codes recorded without recordErrorCodes")
	}
	m.ErrorCodes.Record("state", "ERR_STATE_GET") // nil: no-op
	m = New(Options{AppID: "app", Enabled: true, RecordErrorCodes: true})
	m.ErrorCodes.Record("state", "ERR_STATE_STORE_NOT_FOUND")
	m.ErrorCodes.Record("state", "ERR_STATE_STORE_NOT_FOUND")
	m.ErrorCodes.Record("service-invocation", "ERR_DIRECT_INVOKE")
	m.ErrorCodes.Record("", "ERR_NOT_FOUND")
	got := counts(gather(t, m)["dapr_error_code_total"])
	if got["app_id=app,category=state,error_code=ERR_STATE_STORE_NOT_FOUND"] != 2 ||
		got["app_id=app,category=service-invocation,error_code=ERR_DIRECT_INVOKE"] != 1 || len(got) != 2 {
		t.Errorf("error codes %v", got)
	}
}

func TestRules(t *testing.T) {
	rs := []Rule{
		{Name: "dapr_http_server_request_count", Labels: []RuleLabel{{Name: "path", Regex: map[string]string{
			"/orders/<id>": `^/orders/\d+$`,
		}}}},
		{Name: "dapr_http_client_completed_count", Labels: []RuleLabel{{Name: "path", Regex: map[string]string{
			"/items/$1": `^/items/(\w+)/\d+$`,
		}}}},
		{Name: "dapr_error_code_total", Labels: []RuleLabel{{Name: "error_code", Regex: map[string]string{
			"ERR_STATE": `ERR_STATE_.*`,
		}}}},
	}
	if err := ValidateRules(rs); err != nil {
		t.Fatal(err)
	}
	if err := ValidateRules([]Rule{{Name: "x", Labels: []RuleLabel{{Name: "l", Regex: map[string]string{"a": "("}}}}}); err == nil {
		t.Error("bad expression accepted")
	}
	m := New(Options{AppID: "app", Enabled: true, IncreasedCardinality: true, Rules: rs, RecordErrorCodes: true})
	m.HTTP.Observe(req("", "GET", "/orders/1", 200))
	m.HTTP.Observe(req("", "GET", "/orders/22", 200))
	m.HTTP.Observe(req("", "GET", "/orders/x", 200))
	m.AppChannel.AppCall([]byte("GET"), []byte("/items/book/7"), 200, 0, 0, 0)
	m.AppChannel.AppCall([]byte("GET"), []byte("/items/book/8"), 200, 0, 0, 0)
	m.ErrorCodes.Record("state", "ERR_STATE_GET")
	m.ErrorCodes.Record("state", "ERR_STATE_SAVE")
	fams := gather(t, m)
	got := counts(fams["dapr_http_server_request_count"])
	if got["app_id=app,method=GET,path=/orders/<id>,status=200"] != 2 || got["app_id=app,method=GET,path=/orders/x,status=200"] != 1 {
		t.Errorf("server %v", got)
	}
	// Rules are per metric: the latency histogram keeps the raw paths.
	if len(histos(fams["dapr_http_server_latency"])) != 3 {
		t.Errorf("latency %v", histos(fams["dapr_http_server_latency"]))
	}
	if got := counts(fams["dapr_http_client_completed_count"]); got["app_id=app,method=GET,path=/items/book,status=200"] != 2 {
		t.Errorf("client %v", got)
	}
	if got := counts(fams["dapr_error_code_total"]); got["app_id=app,category=state,error_code=ERR_STATE"] != 2 {
		t.Errorf("error codes %v", got)
	}
}
