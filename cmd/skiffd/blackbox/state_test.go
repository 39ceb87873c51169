package blackbox

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const store = "/v1.0/state/statestore"

// TestState walks the state API on the embedded statestore.
func TestState(t *testing.T) {
	t.Parallel()
	s := startSidecar(t, Opts{AppID: "stateapp"})

	t.Run("save-get-delete", func(t *testing.T) {
		r := s.do("POST", store, []byte(`[{"key":"k1","value":{"a":1}},{"key":"k2","value":"two"},{"key":"k3","value":3}]`))
		wantStatus(t, "save", r, 204)
		for k, want := range map[string]string{"k1": `{"a":1}`, "k2": `"two"`, "k3": `3`} {
			r := s.do("GET", store+"/"+k, nil)
			wantStatus(t, "get "+k, r, 200)
			if string(r.Body) != want {
				t.Errorf("get %s: %q, want %q", k, r.Body, want)
			}
			if r.Header.Get("ETag") == "" {
				t.Errorf("get %s: no ETag header", k)
			}
		}
		// PUT saves too.
		wantStatus(t, "put", s.do("PUT", store, []byte(`[{"key":"k2","value":"deux"}]`)), 204)
		if r := s.do("GET", store+"/k2", nil); string(r.Body) != `"deux"` {
			t.Errorf("after PUT: %q", r.Body)
		}
		wantStatus(t, "delete", s.do("DELETE", store+"/k1", nil), 204)
		wantStatus(t, "get deleted", s.do("GET", store+"/k1", nil), 204)
		wantStatus(t, "get missing", s.do("GET", store+"/never", nil), 204)
		wantStatus(t, "delete missing", s.do("DELETE", store+"/never", nil), 204)
	})

	t.Run("bulk", func(t *testing.T) {
		wantStatus(t, "save", s.do("POST", store, []byte(`[{"key":"b1","value":{"x":[1,2]}},{"key":"b2","value":"v2"}]`)), 204)
		r := s.do("POST", store+"/bulk", []byte(`{"keys":["b1","b2","bnone"],"parallelism":2}`))
		wantStatus(t, "bulk", r, 200)
		var items []struct {
			Key   string          `json:"key"`
			Data  json.RawMessage `json:"data"`
			ETag  string          `json:"etag"`
			Error string          `json:"error"`
		}
		if err := json.Unmarshal(r.Body, &items); err != nil {
			t.Fatalf("bulk: %v; %q", err, r.Body)
		}
		got := map[string]string{}
		for _, it := range items {
			got[it.Key] = string(it.Data)
			if it.Key != "bnone" && it.ETag == "" {
				t.Errorf("bulk %s: no etag", it.Key)
			}
		}
		want := map[string]string{"b1": `{"x":[1,2]}`, "b2": `"v2"`, "bnone": ""}
		if len(items) != 3 {
			t.Errorf("bulk: %d items, want 3: %s", len(items), r.Body)
		}
		for k, v := range want {
			if gv, ok := got[k]; !ok || gv != v {
				t.Errorf("bulk %s: %q (present %v), want %q", k, gv, ok, v)
			}
		}
		// PUT works too, and "bulk" as a GET is a key named bulk.
		wantStatus(t, "bulk PUT", s.do("PUT", store+"/bulk", []byte(`{"keys":["b1"]}`)), 200)
		wantStatus(t, "save key bulk", s.do("POST", store, []byte(`[{"key":"bulk","value":"B"}]`)), 204)
		if r := s.do("GET", store+"/bulk", nil); r.Status != 200 || string(r.Body) != `"B"` {
			t.Errorf("GET key bulk: %d %q", r.Status, r.Body)
		}
	})

	t.Run("transaction", func(t *testing.T) {
		wantStatus(t, "seed", s.do("POST", store, []byte(`[{"key":"t-del","value":1}]`)), 204)
		r := s.do("POST", store+"/transaction", []byte(`{"operations":[
			{"operation":"upsert","request":{"key":"t-a","value":"A"}},
			{"operation":"upsert","request":{"key":"t-b","value":{"n":2}}},
			{"operation":"delete","request":{"key":"t-del"}}]}`))
		wantStatus(t, "transaction", r, 204)
		if r := s.do("GET", store+"/t-a", nil); string(r.Body) != `"A"` {
			t.Errorf("t-a: %d %q", r.Status, r.Body)
		}
		if r := s.do("GET", store+"/t-b", nil); string(r.Body) != `{"n":2}` {
			t.Errorf("t-b: %d %q", r.Status, r.Body)
		}
		wantStatus(t, "t-del gone", s.do("GET", store+"/t-del", nil), 204)

		// A failing operation (etag mismatch) rolls the whole transaction back.
		r = s.do("POST", store+"/transaction", []byte(`{"operations":[
			{"operation":"upsert","request":{"key":"t-c","value":"C"}},
			{"operation":"upsert","request":{"key":"t-a","value":"A2","etag":"not-the-etag"}}]}`))
		if r.Status < 400 {
			t.Errorf("transaction with a bad etag: %d %q", r.Status, r.Body)
		}
		wantStatus(t, "t-c not written", s.do("GET", store+"/t-c", nil), 204)
		if r := s.do("GET", store+"/t-a", nil); string(r.Body) != `"A"` {
			t.Errorf("t-a after failed transaction: %q", r.Body)
		}
		wantAPIError(t, "unknown operation",
			s.do("POST", store+"/transaction", []byte(`{"operations":[{"operation":"bogus","request":{"key":"x"}}]}`)),
			400, "ERR_NOT_SUPPORTED_STATE_OPERATION", "bogus")
	})

	t.Run("etag", func(t *testing.T) {
		wantStatus(t, "save", s.do("POST", store, []byte(`[{"key":"e","value":1}]`)), 204)
		etag := s.do("GET", store+"/e", nil).Header.Get("ETag")
		if etag == "" {
			t.Fatal("no etag")
		}
		// Right etag: saved, and the etag changes.
		wantStatus(t, "save with etag", s.do("POST", store, []byte(`[{"key":"e","value":2,"etag":"`+etag+`"}]`)), 204)
		etag2 := s.do("GET", store+"/e", nil).Header.Get("ETag")
		if etag2 == etag {
			t.Errorf("etag unchanged after a write: %q", etag)
		}
		// Stale etag: 409.
		wantAPIError(t, "stale etag", s.do("POST", store, []byte(`[{"key":"e","value":3,"etag":"`+etag+`"}]`)),
			409, "ERR_STATE_SAVE", "etag mismatch")
		// Delete with a stale If-Match: 409; with the right one: 204.
		wantAPIError(t, "delete stale If-Match", s.do("DELETE", store+"/e", nil, "If-Match", etag),
			409, "ERR_STATE_DELETE", "etag mismatch")
		wantStatus(t, "delete right If-Match", s.do("DELETE", store+"/e", nil, "If-Match", etag2), 204)
		// An etag on a missing key: 409 (the in-memory store treats it as a mismatch).
		wantAPIError(t, "etag on missing key", s.do("POST", store, []byte(`[{"key":"e-missing","value":1,"etag":"1"}]`)),
			409, "ERR_STATE_SAVE")
	})

	t.Run("invalid-etag", func(t *testing.T) {
		// state.in-memory has no etag format, so daprd's only "invalid etag"
		// answer on it is the request itself being malformed: an etag that
		// is not a JSON string.
		wantAPIError(t, "numeric etag", s.do("POST", store, []byte(`[{"key":"ie","value":1,"etag":5}]`)),
			400, "ERR_MALFORMED_REQUEST")
		wantAPIError(t, "object etag", s.do("POST", store, []byte(`[{"key":"ie","value":1,"etag":{}}]`)),
			400, "ERR_MALFORMED_REQUEST")
		wantStatus(t, "nothing saved", s.do("GET", store+"/ie", nil), 204)
	})

	t.Run("first-write", func(t *testing.T) {
		fw := `"options":{"concurrency":"first-write"}`
		wantStatus(t, "first", s.do("POST", store, []byte(`[{"key":"fw","value":1,`+fw+`}]`)), 204)
		wantAPIError(t, "second without etag", s.do("POST", store, []byte(`[{"key":"fw","value":2,`+fw+`}]`)),
			409, "ERR_STATE_SAVE")
		etag := s.do("GET", store+"/fw", nil).Header.Get("ETag")
		wantStatus(t, "second with etag", s.do("POST", store, []byte(`[{"key":"fw","value":3,"etag":"`+etag+`",`+fw+`}]`)), 204)
		if r := s.do("GET", store+"/fw", nil); string(r.Body) != "3" {
			t.Errorf("fw: %q", r.Body)
		}
		// last-write (the default) overwrites without an etag.
		wantStatus(t, "last-write", s.do("POST", store, []byte(`[{"key":"fw","value":4,"options":{"concurrency":"last-write"}}]`)), 204)
	})

	t.Run("ttl", func(t *testing.T) {
		wantStatus(t, "save ttl", s.do("POST", store, []byte(`[{"key":"ttl","value":"v","metadata":{"ttlInSeconds":"1"}}]`)), 204)
		r := s.do("GET", store+"/ttl", nil)
		wantStatus(t, "get before expiry", r, 200)
		if exp := r.Header.Get("Metadata.ttlexpiretime"); exp == "" {
			t.Errorf("no metadata.ttlExpireTime header: %v", r.Header)
		} else if ts, err := time.Parse(time.RFC3339, exp); err != nil || time.Until(ts) > 2*time.Second {
			t.Errorf("metadata.ttlExpireTime %q: %v", exp, err)
		}
		deadline := time.Now().Add(3 * time.Second)
		for {
			r := s.do("GET", store+"/ttl", nil)
			if r.Status == 204 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("key with ttlInSeconds=1 still there after 3 s: %d %q", r.Status, r.Body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		wantAPIError(t, "bad ttl", s.do("POST", store, []byte(`[{"key":"ttl2","value":"v","metadata":{"ttlInSeconds":"soon"}}]`)),
			500, "ERR_STATE_SAVE")
	})

	t.Run("unknown-store", func(t *testing.T) {
		for _, c := range []struct{ m, p, body string }{
			{"GET", "/v1.0/state/nostore/k", ""},
			{"POST", "/v1.0/state/nostore", `[{"key":"k","value":1}]`},
			{"DELETE", "/v1.0/state/nostore/k", ""},
			{"POST", "/v1.0/state/nostore/bulk", `{"keys":["k"]}`},
			{"POST", "/v1.0/state/nostore/transaction", `{"operations":[]}`},
		} {
			var b []byte
			if c.body != "" {
				b = []byte(c.body)
			}
			wantAPIError(t, c.m+" "+c.p, s.do(c.m, c.p, b), 400, "ERR_STATE_STORE_NOT_FOUND", "nostore")
		}
	})

	t.Run("broken-json", func(t *testing.T) {
		for _, body := range []string{`not json`, `[{"key":"k"`, `{"key":"k","value":1}`, `[{"value":1}]`, ``} {
			r := s.do("POST", store, []byte(body))
			wantAPIError(t, "save "+body, r, 400, "ERR_MALFORMED_REQUEST")
		}
		wantAPIError(t, "bulk broken", s.do("POST", store+"/bulk", []byte(`{"keys":`)), 400, "ERR_MALFORMED_REQUEST")
		wantAPIError(t, "transaction broken", s.do("POST", store+"/transaction", []byte(`{"operations":[`)), 400, "ERR_MALFORMED_REQUEST")
		wantAPIError(t, "key with ||", s.do("POST", store, []byte(`[{"key":"a||b","value":1}]`)), 400, "ERR_MALFORMED_REQUEST", "||")
	})
}

// TestStateKeyPrefix: keys are stored as {appid}||key, so two app ids see
// separate key spaces, and the stored key shows in daprd's error messages.
func TestStateKeyPrefix(t *testing.T) {
	t.Parallel()
	a := startSidecar(t, Opts{AppID: "prefix-a"})
	b := startSidecar(t, Opts{AppID: "prefix-b"})
	wantStatus(t, "save a", a.do("POST", store, []byte(`[{"key":"shared","value":"from a"}]`)), 204)
	wantStatus(t, "b sees nothing", b.do("GET", store+"/shared", nil), 204)
	wantStatus(t, "save b", b.do("POST", store, []byte(`[{"key":"shared","value":"from b"}]`)), 204)
	if r := a.do("GET", store+"/shared", nil); string(r.Body) != `"from a"` {
		t.Errorf("a: %q", r.Body)
	}
	if r := b.do("GET", store+"/shared", nil); string(r.Body) != `"from b"` {
		t.Errorf("b: %q", r.Body)
	}
	e := wantAPIError(t, "etag mismatch names the stored key", a.do("POST", store, []byte(`[{"key":"shared","value":1,"etag":"x"}]`)), 409, "ERR_STATE_SAVE")
	if !strings.Contains(e.Message, "prefix-a||shared") {
		t.Errorf("message %q does not name the stored key prefix-a||shared", e.Message)
	}
	// A key the caller writes is never read back with the prefix.
	r := a.do("POST", store+"/bulk", []byte(`{"keys":["shared"]}`))
	if !strings.Contains(string(r.Body), `"key":"shared"`) || strings.Contains(string(r.Body), "prefix-a||") {
		t.Errorf("bulk answer leaks or loses the key: %s", r.Body)
	}
}
