package blackbox

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// publishLoad keeps a few publishers sending CloudEvents with unique ids to
// a topic until stop, recording which publishes were acknowledged (204) and
// how the others failed: the fault tests stop a broker under this load.
type publishLoad struct {
	ok, bad atomic.Int64
	slowest atomic.Int64 // ns of the slowest failed publish
	stop    atomic.Bool
	wg      sync.WaitGroup
	seq     atomic.Int64

	mu    sync.Mutex
	acked []string
	odd   []string // answers other than 204 or a clear 500 ERR_PUBSUB_PUBLISH_MESSAGE
}

// startPublishLoad starts workers publishers to pubsub "ps"; the load stops
// at the end of the test at the latest.
func startPublishLoad(t *testing.T, s *Sidecar, topic string, workers int) *publishLoad {
	l := &publishLoad{}
	c := &http.Client{Timeout: 30 * time.Second}
	for range workers {
		l.wg.Go(func() {
			for !l.stop.Load() {
				l.publishOne(c, s.URL+"/v1.0/publish/ps/"+topic)
			}
		})
	}
	t.Cleanup(l.halt)
	return l
}

func (l *publishLoad) publishOne(c *http.Client, url string) {
	id := fmt.Sprintf("f-%d", l.seq.Add(1))
	body := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"t","type":"t","data":1}`, id)
	start := time.Now()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := c.Do(req)
	if err != nil {
		l.bad.Add(1)
		l.noteOdd(err.Error())
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 204 {
		l.ok.Add(1)
		l.mu.Lock()
		l.acked = append(l.acked, id)
		l.mu.Unlock()
		return
	}
	l.bad.Add(1)
	if resp.StatusCode != 500 || !strings.Contains(string(b), "ERR_PUBSUB_PUBLISH_MESSAGE") {
		l.noteOdd(fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	if d := int64(time.Since(start)); d > l.slowest.Load() {
		l.slowest.Store(d)
	}
	time.Sleep(20 * time.Millisecond)
}

func (l *publishLoad) noteOdd(s string) {
	l.mu.Lock()
	l.odd = append(l.odd, s)
	l.mu.Unlock()
}

// halt stops the publishers and waits for them.
func (l *publishLoad) halt() {
	l.stop.Store(true)
	l.wg.Wait()
}

// check stops the load, then fails the test when an answer was neither 204
// nor a clear 500 or a failure was slow, and returns the acknowledged ids.
func (l *publishLoad) check(t *testing.T, broker string) []string {
	t.Helper()
	l.halt()
	t.Logf("%d publishes acknowledged, %d failed; slowest failure %s", l.ok.Load(), l.bad.Load(), time.Duration(l.slowest.Load()))
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.odd) > 0 {
		t.Errorf("%d answers were neither 204 nor a clear 500, e.g. %q", len(l.odd), l.odd[0])
	}
	if d := time.Duration(l.slowest.Load()); d > 6*time.Second {
		t.Errorf("a failed publish took %s: publishes must fail promptly while %s is down", d, broker)
	}
	return append([]string(nil), l.acked...)
}
