package tracing

import (
	"bytes"
	"testing"
)

func TestParseTraceParent(t *testing.T) {
	const good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	sc, ok := ParseTraceParent([]byte(good))
	if !ok || !sc.Sampled() || sc.TraceID[0] != 0x0a || sc.SpanID[7] != 0x31 {
		t.Fatalf("%q: %+v %v", good, sc, ok)
	}
	if got := AppendTraceParent(nil, sc); string(got) != good {
		t.Fatalf("round trip %q", got)
	}
	for _, s := range []string{
		" " + good + "\t",
		"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-future",
		"cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
	} {
		if _, ok := ParseTraceParent([]byte(s)); !ok {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{
		"",
		good[:54],
		good + "-",      // version 00 has no extra fields
		"ff" + good[2:], // version ff is invalid
		"0g" + good[2:], // not hex
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", // upper case
		"00-00000000000000000000000000000000-b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
		"00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0z",
	} {
		if _, ok := ParseTraceParent([]byte(s)); ok {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestParseTraceParentAllocs(t *testing.T) {
	b := []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseTraceParent(b) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func FuzzParseTraceParent(f *testing.F) {
	f.Add([]byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
	f.Add([]byte("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-x"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, ok := ParseTraceParent(b)
		if !ok {
			return
		}
		out := AppendTraceParent(nil, sc)
		sc2, ok := ParseTraceParent(out)
		if !ok || sc2 != sc {
			t.Fatalf("%q parsed to %+v, formatted %q, reparsed %+v %v", b, sc, out, sc2, ok)
		}
		// What was parsed is what the input said (case and version aside).
		trimmed := bytes.TrimSpace(b)
		if !bytes.Equal(out[3:55], trimmed[3:55]) {
			t.Fatalf("%q formatted as %q", b, out)
		}
	})
}
