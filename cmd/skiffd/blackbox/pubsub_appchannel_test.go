package blackbox

import (
	"strconv"
	"testing"
)

// TestPubsubAppChannel: with --app-max-concurrency, deliveries go one at a
// time through the app channel's slots; order, redelivery and the
// concurrency across topics hold there too.
func TestPubsubAppChannel(t *testing.T) {
	app := startSubApp(t, 0, `[{"pubsubname":"pubsub","topic":"a","route":"/a"},{"pubsubname":"pubsub","topic":"b","route":"/b"}]`,
		func(path string, ev map[string]any, n int) (int, string) {
			if path == "/a" && n == 3 {
				return 200, `{"status":"RETRY"}`
			}
			return 200, ""
		})
	s := startSidecar(t, Opts{AppPort: app.Port, Args: []string{"--app-max-concurrency", "2"}})
	s.waitSubscribed(t, 2)
	const total = 40
	for i := range total {
		s.publish(t, "pubsub", "a", strconv.Itoa(i))
		s.publish(t, "pubsub", "b", strconv.Itoa(i))
	}
	for _, path := range []string{"/a", "/b"} {
		want := total
		if path == "/a" {
			want++ // the RETRY'd delivery comes twice
		}
		got := app.waitFor(path, want)
		next := 0
		for _, d := range got {
			n, _ := strconv.Atoi(d.Event["data"].(string))
			switch {
			case n == next:
				next++
			case n == next-1 && path == "/a":
				// the redelivery of the message answered RETRY
			default:
				t.Fatalf("%s: got %d after %d: order broken", path, n, next-1)
			}
		}
		if next != total {
			t.Errorf("%s: %d messages in order, want %d", path, next, total)
		}
	}
}
