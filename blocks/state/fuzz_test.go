package state

import (
	"encoding/json"
	"testing"
)

// FuzzParseRequests feeds arbitrary bodies to the save, bulk and
// transaction parsers: errors are fine, panics are not, and whatever a save
// accepts must carry valid JSON values.
func FuzzParseRequests(f *testing.F) {
	for _, s := range []string{
		`[{"key":"k1","value":{"a":1}}]`,
		`[{"key":"k","value":"s","etag":"1","metadata":{"ttlInSeconds":"5"},"options":{"concurrency":"first-write","consistency":"strong"}}]`,
		`{"keys":["a","b"],"parallelism":3,"metadata":{"x":"y"}}`,
		`{"operations":[{"operation":"upsert","request":{"key":"k","value":1}},{"operation":"delete","request":{"key":"k","etag":"2"}}],"metadata":null}`,
		`[{"key":1}]`, `{"keys":"a"}`, `[`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if reqs, err := parseSave(b, nil); err == nil {
			for _, r := range reqs {
				if len(r.Value) > 0 && !json.Valid(r.Value) {
					t.Fatalf("save accepted %q with invalid value %q", b, r.Value)
				}
			}
		}
		_, _, _, _ = parseBulk(b)
		if ops, _, err := parseTransaction(b); err == nil {
			for _, op := range ops {
				_, _ = decodeTxSet(op)
				_, _ = decodeTxDelete(op)
			}
		}
	})
}
