package blackbox

import (
	"strconv"
	"testing"
	"time"
)

// TestPubsubStatus: the app's answer decides each message as in daprd:
// RETRY and 500 redeliver (in order: a message published meanwhile waits), DROP goes to
// the dead-letter topic, 404 drops without redelivery, and with a
// dead-letter topic a failed delivery goes there instead of being retried.
// Many messages on one topic arrive in publish order.
func TestPubsubStatus(t *testing.T) {
	app := startSubApp(t, 0, `[
		{"pubsubname":"pubsub","topic":"retry","route":"/retry"},
		{"pubsubname":"pubsub","topic":"drop","route":"/drop","deadLetterTopic":"dead"},
		{"pubsubname":"pubsub","topic":"dead","route":"/dead"},
		{"pubsubname":"pubsub","topic":"gone","route":"/gone"},
		{"pubsubname":"pubsub","topic":"failing","route":"/failing","deadLetterTopic":"dead2"},
		{"pubsubname":"pubsub","topic":"dead2","route":"/dead2"},
		{"pubsubname":"pubsub","topic":"seq","route":"/seq"}]`,
		func(path string, ev map[string]any, n int) (int, string) {
			switch path {
			case "/retry":
				if ev["data"] != "A" {
					return 200, `{"status":"SUCCESS"}`
				}
				switch n {
				case 0:
					return 200, `{"status":"RETRY"}`
				case 1:
					return 500, "boom"
				}
				return 200, `{"status":"SUCCESS"}`
			case "/drop":
				return 200, `{"status":"DROP"}`
			case "/gone":
				return 404, "no such route"
			case "/failing":
				return 503, ""
			}
			return 200, ""
		})
	s := startSidecar(t, Opts{AppPort: app.Port})
	s.waitSubscribed(t, 7)

	// B is published once A is being retried: it waits until A is through.
	s.publish(t, "pubsub", "retry", "A")
	app.waitFor("/retry", 2)
	s.publish(t, "pubsub", "retry", "B")
	got := app.waitFor("/retry", 4)
	var seq []string
	for _, d := range got {
		seq = append(seq, d.Event["data"].(string))
	}
	if len(seq) != 4 || seq[0] != "A" || seq[1] != "A" || seq[2] != "A" || seq[3] != "B" {
		t.Errorf("retry deliveries %v, want [A A A B]", seq)
	}

	s.publish(t, "pubsub", "drop", "dropped one")
	dead := app.waitFor("/dead", 1)
	if dead[0].Event["data"] != "dropped one" || dead[0].Event["topic"] != "drop" {
		t.Errorf("dead letter: %s", dead[0].Body)
	}

	s.publish(t, "pubsub", "failing", "fails")
	dead2 := app.waitFor("/dead2", 1)
	if dead2[0].Event["data"] != "fails" {
		t.Errorf("dead letter after a failure: %s", dead2[0].Body)
	}

	s.publish(t, "pubsub", "gone", "x")
	app.waitFor("/gone", 1)
	if n := len(app.settle("/gone", 300*time.Millisecond)); n != 1 {
		t.Errorf("404 was redelivered: %d deliveries", n)
	}
	if n := len(app.deliveries("/drop")); n != 1 {
		t.Errorf("DROP was redelivered: %d deliveries", n)
	}

	const total = 300
	for i := range total {
		s.publish(t, "pubsub", "seq", strconv.Itoa(i))
	}
	for i, d := range app.waitFor("/seq", total) {
		if d.Event["data"] != strconv.Itoa(i) {
			t.Fatalf("delivery %d carries %v: per-topic order broken", i, d.Event["data"])
		}
	}
}
