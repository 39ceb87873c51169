package resiliency

import (
	"testing"

	"github.com/skiffd/skiff/blocks/resources"
)

// FuzzParseCodes checks that the matching-list parser never panics and
// only returns ranges inside the allowed bounds.
func FuzzParseCodes(f *testing.F) {
	for _, s := range []string{"500", "500-599,429", "", ",", "1-2-3", "-5", "600", "5000000000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := parseCodes(s, 100, 599)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.lo < 100 || r.hi > 599 || r.lo > r.hi {
				t.Fatalf("%q: range %v", s, r)
			}
		}
	})
}

// FuzzDecode feeds arbitrary policy strings through the whole decoder.
func FuzzDecode(f *testing.F) {
	f.Add("5s", "exponential", "1m", "consecutiveFailures > 5", "500-599")
	f.Add("250", "constant", "x", "requests >", "1-")
	// The trip expression is picked from a fixed set: compiling arbitrary
	// text is cel-go's parser (fuzzed upstream), and its worst cases stalled
	// the fuzz workers for minutes at a time here. The unit tests cover
	// bad expressions.
	trips := []string{"", "consecutiveFailures > 5", "requests > 2 && totalFailures >= 1", "requests >", "1 + 1", "consecutiveFailures > 1 || true"}
	f.Fuzz(func(t *testing.T, dur, policy, interval, trip, codes string) {
		trip = trips[len(trip)%len(trips)]
		docs := doc(resources.ResiliencyPolicies{
			Timeouts:        map[string]string{"t": dur},
			Retries:         map[string]resources.Retry{"r": {Policy: policy, Duration: dur, MaxInterval: interval, Matching: &resources.RetryMatching{HTTPStatusCodes: codes}}},
			CircuitBreakers: map[string]resources.CircuitBreaker{"cb": {Interval: interval, Timeout: dur, Trip: trip}},
		}, resources.ResiliencyTargets{Components: map[string]resources.ComponentPolicyNames{"c": {Outbound: resources.PolicyNames{Timeout: "t", Retry: "r", CircuitBreaker: "cb"}}}})
		r, err := New(docs, Options{})
		if err == nil {
			_ = r.ComponentOutbound("c", Statestore)
		}
	})
}
