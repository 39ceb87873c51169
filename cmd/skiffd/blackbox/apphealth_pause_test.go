package blackbox

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAppHealthPause: while the app's health check fails, pub/sub delivery
// pauses and invocation answers daprd's error; messages published
// meanwhile all reach the app once it is healthy again.
func TestAppHealthPause(t *testing.T) {
	app := startHealthApp(t, `[{"pubsubname":"pubsub","topic":"orders","route":"/orders"}]`)
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{
		"--enable-app-health-check", "--app-health-check-path", "/healthz",
		"--app-health-probe-interval", "1", "--app-health-probe-timeout", "500", "--app-health-threshold", "2",
	}})
	if got := s.Stderr(); strings.Contains(got, "app health checks are not implemented") {
		t.Fatalf("the not-implemented warning is still printed:\n%s", got)
	}
	s.waitAppHealth(t, "HEALTHY")
	h := s.appHealthMD(t)
	for k, want := range map[string]any{"healthCheckPath": "/healthz", "healthProbeInterval": "1s", "healthProbeTimeout": "500ms", "healthThreshold": 2.0} {
		if h[k] != want {
			t.Errorf("metadata health %s = %v, want %v", k, h[k], want)
		}
	}
	s.waitSubscribed(t, 1)
	const first, second = 5, 20
	for i := range first {
		s.publish(t, "pubsub", "orders", strconv.Itoa(i))
	}
	app.waitFor("/orders", first)
	wantStatus(t, "invoke a healthy app", s.do("POST", "/v1.0/invoke/"+s.AppID+"/method/echo", nil), 200)

	app.healthy.Store(false)
	s.waitAppHealth(t, "UNHEALTHY")
	wantAPIError(t, "invoke an unhealthy app", s.do("POST", "/v1.0/invoke/"+s.AppID+"/method/echo", nil),
		500, "ERR_DIRECT_INVOKE", "app is not in a healthy state")
	for i := range second {
		s.publish(t, "pubsub", "orders", strconv.Itoa(first+i))
	}
	if got := app.settle("/orders", 1500*time.Millisecond); len(got) != first {
		t.Fatalf("%d deliveries while the app is unhealthy, want none after the first %d", len(got)-first, first)
	}
	if n := app.probes.Load(); n < 2 {
		t.Fatalf("only %d probes", n)
	}

	app.healthy.Store(true)
	s.waitAppHealth(t, "HEALTHY")
	got := app.waitFor("/orders", first+second)
	seen := map[int]bool{}
	for _, d := range got {
		n, _ := strconv.Atoi(d.Event["data"].(string))
		seen[n] = true
	}
	var missing []int
	for i := range first + second {
		if !seen[i] {
			missing = append(missing, i)
		}
	}
	sort.Ints(missing)
	if len(missing) > 0 {
		t.Fatalf("lost messages %v", missing)
	}
	wantStatus(t, "invoke the recovered app", s.do("POST", "/v1.0/invoke/"+s.AppID+"/method/echo", nil), 200)
}
