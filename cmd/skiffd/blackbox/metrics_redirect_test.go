package blackbox

import (
	"bytes"
	"strconv"
	"testing"
)

// skiff_ebpf_*: the active gauge follows the shortcut, and its counters
// (summed from the per-CPU map at scrape time) grow with the traffic and
// agree with the metadata API's.
func TestMetricsRedirect(t *testing.T) {
	t.Run("on", func(t *testing.T) {
		needRoot(t)
		app := startApp(t, 0)
		mport := freePort(t)
		s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--ebpf-redirect", "on", "--metrics-port", strconv.Itoa(mport)}})
		body := bytes.Repeat([]byte("x"), 64<<10)
		for range 10 {
			wantStatus(t, "invoke", s.do("POST", "/v1.0/invoke/"+s.AppID+"/method/echo/x", body), 200)
		}
		fams := scrape(t, mport)
		if a := fams["skiff_ebpf_redirect_active"]; a == nil || a.GetMetric()[0].GetGauge().GetValue() != 1 {
			t.Fatalf("skiff_ebpf_redirect_active: %s\n%s", describe(a), s.Stderr())
		}
		msgs := fams["skiff_ebpf_redirected_messages_total"]
		byts := fams["skiff_ebpf_redirected_bytes_total"]
		if msgs == nil || msgs.GetMetric()[0].GetCounter().GetValue() <= 0 {
			t.Errorf("messages: %s", describe(msgs))
		}
		if byts == nil || byts.GetMetric()[0].GetCounter().GetValue() < 10*64<<10 {
			t.Errorf("bytes: %s", describe(byts))
		}
		if fams["skiff_ebpf_misses_total"] == nil {
			t.Error("no skiff_ebpf_misses_total")
		}
		// The metadata API reads the same counters, later: never fewer.
		_, mdMsgs, mdBytes := redirectStatus(t, s)
		if float64(mdMsgs) < msgs.GetMetric()[0].GetCounter().GetValue() || float64(mdBytes) < byts.GetMetric()[0].GetCounter().GetValue() {
			t.Errorf("metadata %d msgs %d bytes behind the metrics %s %s", mdMsgs, mdBytes, describe(msgs), describe(byts))
		}
	})
	t.Run("off", func(t *testing.T) {
		mport := freePort(t)
		startSidecar(t, Opts{Args: []string{"--ebpf-redirect", "off", "--metrics-port", strconv.Itoa(mport)}})
		fams := scrape(t, mport)
		if a := fams["skiff_ebpf_redirect_active"]; a == nil || a.GetMetric()[0].GetGauge().GetValue() != 0 {
			t.Errorf("skiff_ebpf_redirect_active: %s", describe(a))
		}
		for _, name := range []string{"skiff_ebpf_redirected_messages_total", "skiff_ebpf_redirected_bytes_total", "skiff_ebpf_misses_total"} {
			if fams[name] != nil {
				t.Errorf("%s exported while the shortcut is off", name)
			}
		}
	})
}
