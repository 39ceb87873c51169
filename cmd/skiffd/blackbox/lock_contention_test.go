package blackbox

import (
	"sync"
	"testing"
	"time"
)

// TestLockContention: two owners race for one resource on the embedded
// lockstore; exactly one wins, the other gets success:false until the
// winner unlocks; unlock answers daprd's statuses; a lock expires.
func TestLockContention(t *testing.T) {
	t.Parallel()
	s := startSidecar(t, Opts{})
	const lockURL, unlockURL = "/v1.0-alpha1/lock/lockstore", "/v1.0-alpha1/unlock/lockstore"

	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			owner := []string{"alice", "bob"}[i%2]
			r := s.do("POST", lockURL, []byte(`{"resourceId":"order-1","lockOwner":"`+owner+`","expiryInSeconds":60}`))
			if r.Status != 200 {
				t.Errorf("lock: %d %s", r.Status, r.Body)
			}
			if string(r.Body) == `{"success":true}` {
				results[i] = owner
			}
		}(i)
	}
	wg.Wait()
	winner := ""
	for _, w := range results {
		if w != "" {
			if winner != "" {
				t.Fatalf("two winners: %q", results)
			}
			winner = w
		}
	}
	if winner == "" {
		t.Fatal("nobody got the lock")
	}
	loser := map[string]string{"alice": "bob", "bob": "alice"}[winner]

	wantBody(t, "loser unlocks", s.do("POST", unlockURL, []byte(`{"resourceId":"order-1","lockOwner":"`+loser+`"}`)), 200, `{"status":2}`)
	wantBody(t, "nobody's lock", s.do("POST", unlockURL, []byte(`{"resourceId":"order-2","lockOwner":"x"}`)), 200, `{"status":1}`)
	wantBody(t, "winner unlocks", s.do("POST", unlockURL, []byte(`{"resourceId":"order-1","lockOwner":"`+winner+`"}`)), 200, `{"status":0}`)
	wantBody(t, "loser locks now", s.do("POST", lockURL, []byte(`{"resourceId":"order-1","lockOwner":"`+loser+`","expiryInSeconds":1}`)), 200, `{"success":true}`)

	// Expiry: poll rather than sleep a fixed time.
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := s.do("POST", lockURL, []byte(`{"resourceId":"order-1","lockOwner":"`+winner+`","expiryInSeconds":60}`))
		if string(r.Body) == `{"success":true}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a 1 s lock never expired: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
