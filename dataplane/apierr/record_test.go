package apierr

import "testing"

func TestRecorder(t *testing.T) {
	var got []string
	SetRecorder(func(category, code string) { got = append(got, category+"/"+code) })
	defer SetRecorder(nil)
	StateStoreNotFound.AppendJSON(nil, "m")
	DirectInvoke.AppendJSON(nil, "m")
	NotFound.AppendJSON(nil, "m") // not in daprd's table: not counted
	Record("ERR_LOCK_STORE_NOT_FOUND")
	want := []string{"state/ERR_STATE_STORE_NOT_FOUND", "service-invocation/ERR_DIRECT_INVOKE", "lock/ERR_LOCK_STORE_NOT_FOUND"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	SetRecorder(nil)
	Record("ERR_STATE_GET")
	if len(got) != len(want) {
		t.Error("recorded after SetRecorder(nil)")
	}
	if Category("ERR_PUBSUB_NOT_FOUND") != "pubsub" || Category("ERR_NOT_FOUND") != "" {
		t.Error("categories")
	}
}

// Answering an error allocates nothing more with a recorder that does not.
func TestRecordNoAlloc(t *testing.T) {
	n := 0
	SetRecorder(func(string, string) { n++ })
	defer SetRecorder(nil)
	buf := make([]byte, 0, 256)
	if a := testing.AllocsPerRun(100, func() { buf = StateGet.AppendJSON(buf[:0], "x") }); a != 0 {
		t.Errorf("%v allocations", a)
	}
	if n == 0 {
		t.Error("not recorded")
	}
}
