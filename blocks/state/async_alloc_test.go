package state_test

import (
	"testing"

	"github.com/skiffd/skiff/blocks/state"
	"github.com/skiffd/skiff/blocks/state/memory"
	"github.com/skiffd/skiff/dataplane/router"
)

// asyncStore answers GetAsync at once from a fixed response, as a batching
// backend store would later from its worker.
type asyncStore struct {
	state.Store
	resp state.GetResponse
	keys []string
}

func (s *asyncStore) AsyncGets() bool { return true }

func (s *asyncStore) GetAsync(key string, done func(state.GetResponse, error)) {
	s.keys = append(s.keys[:0], key)
	done(s.resp, nil)
}

// suspender counts resumes; the test reads the answer from the Ctx. Its
// resume is bound once, as the server's exchange does.
type suspender struct {
	resumed int
	fn      func()
}

func (s *suspender) Suspend(*router.Ctx) func() { return s.fn }
func (s *suspender) resume()                    { s.resumed++ }

// A GET on a backend store (Redis, PostgreSQL) suspended on the event loop
// allocates only the stored key it hands to the store: the completion and
// the resume function are pooled or bound once.
func TestAsyncGetAllocations(t *testing.T) {
	mem, err := memory.New("redisstore", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	st := &asyncStore{Store: mem, resp: state.GetResponse{Found: true, Data: []byte(`{"a":1}`), ETag: "3"}}
	api, err := state.New(state.Config{AppID: "myapp"}, []state.StoreEntry{{Name: "redisstore", Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	tbl := router.New()
	tbl.MustAdd(api.Routes()...)
	raw := rawRequest("GET", "/v1.0/state/redisstore/k1", "")
	sus := &suspender{}
	sus.fn = sus.resume
	var c router.Ctx
	get := func() {
		c.Reset()
		if _, err := c.Req.Parse(raw, 8192); err != nil {
			t.Fatal(err)
		}
		c.Suspender = sus
		route, _ := tbl.Match(c.Req.MethodID, c.Req.Path(), &c)
		route.Handler(&c)
	}
	get()
	if sus.resumed != 1 || c.StatusCode() != 200 || string(c.RespBody) != `{"a":1}` || st.keys[0] != "myapp||k1" {
		t.Fatalf("resumed %d, status %d, body %q, key %q", sus.resumed, c.StatusCode(), c.RespBody, st.keys[0])
	}
	if raceEnabled {
		return // allocation counts are meaningless under -race
	}
	if n := testing.AllocsPerRun(500, get); n > 1 {
		t.Errorf("%v allocs per suspended GET, want 1 (the stored key)", n)
	}
}
