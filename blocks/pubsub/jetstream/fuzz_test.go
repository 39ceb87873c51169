package jetstream

import (
	"encoding/json"
	"testing"
)

// FuzzCloudEventID: any bytes; the id found is the top-level string "id" of
// a JSON object, or "".
func FuzzCloudEventID(f *testing.F) {
	for _, s := range []string{`{"id":"a"}`, `{"data":{"id":"b"}}`, `{"id":1}`, `"id"`, `{"id":"\u00e9"}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id := cloudEventID(b)
		if id == "" {
			return
		}
		var ev map[string]any
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("id %q from invalid JSON %q", id, b)
		}
		if ev["id"] != id {
			t.Fatalf("id %q, document says %v", id, ev["id"])
		}
	})
}
