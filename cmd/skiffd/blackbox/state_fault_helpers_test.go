package blackbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fault-test helpers: a write load against a real skiffd while a shared
// backend is stopped and started again with the commands of services.md.
// These tests stop services every test run on the machine uses, so they run
// only with SKIFF_FAULTS=1 (make faults; make test in CI).

func needFaults(t *testing.T) {
	t.Helper()
	if os.Getenv("SKIFF_FAULTS") != "1" {
		t.Skip("fault test: set SKIFF_FAULTS=1 (make faults); it restarts the shared backend")
	}
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("fault tests need root to restart the services")
		}
		t.Skip("fault tests need root")
	}
}

// run runs a shell command, returning its combined output.
func run(cmd string) (string, error) {
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	return string(out), err
}

func portUp(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// faultLoad is a save load on one store: each write uses a new key, so the
// last acknowledged value of every key is the only one.
type faultLoad struct {
	s     *Sidecar
	store string
	stop  atomic.Bool
	wg    sync.WaitGroup

	mu          sync.Mutex
	acked       map[string]string // key -> value, writes answered 204
	failures    int               // clear 500s with ERR_STATE_SAVE
	getFailures int               // clear 500s with ERR_STATE_GET
	bad         []string          // anything else
	lastOK      atomic.Int64      // unix nanos of the last 204
	maxLat      time.Duration
}

func startFaultLoad(s *Sidecar, store string, workers int) *faultLoad {
	l := &faultLoad{s: s, store: store, acked: map[string]string{}}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := range workers {
		l.wg.Go(func() {
			for n := 0; !l.stop.Load(); n++ {
				key := "w" + strconv.Itoa(w) + "-" + strconv.Itoa(n)
				val := strconv.Itoa(n*10 + w)
				body := `[{"key":"` + key + `","value":` + val + `}]`
				t0 := time.Now()
				resp, err := c.Post(s.URL+"/v1.0/state/"+store, "application/json", strings.NewReader(body))
				lat := time.Since(t0)
				l.mu.Lock()
				l.maxLat = max(l.maxLat, lat)
				switch {
				case err != nil:
					l.bad = append(l.bad, "transport: "+err.Error())
				case resp.StatusCode == 204:
					l.acked[key] = val
					l.lastOK.Store(time.Now().UnixNano())
				default:
					var b bytes.Buffer
					_, _ = b.ReadFrom(resp.Body)
					var e APIError
					if resp.StatusCode == 500 && json.Unmarshal(b.Bytes(), &e) == nil && e.ErrorCode == "ERR_STATE_SAVE" && e.Message != "" {
						l.failures++
					} else {
						l.bad = append(l.bad, fmt.Sprintf("%d %s", resp.StatusCode, b.String()))
					}
				}
				if resp != nil {
					resp.Body.Close()
				}
				l.mu.Unlock()
				if n%4 == 0 {
					l.checkGet(c, key, val)
				}
				if err != nil || (resp != nil && resp.StatusCode != 204) {
					time.Sleep(20 * time.Millisecond) // do not spin while the backend is down
				}
			}
		})
	}
	return l
}

// checkGet reads key back: its value, a 204 when the write was not
// acknowledged, or a clear 500 ERR_STATE_GET during the outage.
func (l *faultLoad) checkGet(c *http.Client, key, val string) {
	resp, err := c.Get(l.s.URL + "/v1.0/state/" + l.store + "/" + key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.bad = append(l.bad, "get transport: "+err.Error())
		return
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	_, acked := l.acked[key]
	var e APIError
	switch {
	case resp.StatusCode == 200 && b.String() == val:
	case resp.StatusCode == 204 && !acked:
	case resp.StatusCode == 500 && json.Unmarshal(b.Bytes(), &e) == nil && e.ErrorCode == "ERR_STATE_GET":
		l.getFailures++
	default:
		l.bad = append(l.bad, fmt.Sprintf("get %s: %d %s (acked %v)", key, resp.StatusCode, b.String(), acked))
	}
}

func (l *faultLoad) finish() {
	l.stop.Store(true)
	l.wg.Wait()
}

// waitOK waits for a write acknowledged after since.
func (l *faultLoad) waitOK(t *testing.T, since time.Time, d time.Duration, what string) {
	t.Helper()
	pollUntil(t, d, what, func() bool { return l.lastOK.Load() > since.UnixNano() })
}

// waitFailures waits until the load has seen n clear failures.
func (l *faultLoad) waitFailures(t *testing.T, n int, d time.Duration) {
	t.Helper()
	pollUntil(t, d, "500s during the outage", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.failures >= n
	})
}

func (l *faultLoad) report(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("acknowledged writes %d, clear 500s %d (saves) %d (gets), max save latency %s", len(l.acked), l.failures, l.getFailures, l.maxLat)
	if len(l.bad) > 0 {
		t.Errorf("%d answers that were not 204 or a clear 500 ERR_STATE_SAVE, e.g. %q", len(l.bad), l.bad[0])
	}
	if l.failures == 0 {
		t.Error("no 500 during the outage")
	}
}
