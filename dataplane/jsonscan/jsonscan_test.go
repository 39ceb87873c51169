package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var seeds = []string{
	`{}`, `[]`, `"a\u00e9\n"`, `{"a":[1,2.5e-3,true,null,{"b":"c"}]}`, `[1,]`, `{"a" 1}`, `01`, `-`,
	`"\ud800"`, `1e999`, ` [ ] `, `{"a":1}x`, `{"a":1} `, "\"\xff\"", "\"\x01\"", `tru`, `nul`, ``, ` `,
	`{"specversion":"1.0","data":{"orderId":1},"id":"x"}`, `"a\\`, `"abc`,
}

// FuzzValidate checks Validate against encoding/json's Decoder, which daprd
// reads request bodies with (first value only, trailing bytes ignored):
// both accept and refuse the same inputs, and what Validate accepts ends
// where a JSON value ends.
func FuzzValidate(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, end, err := Validate(b)
		var raw json.RawMessage
		derr := json.NewDecoder(bytes.NewReader(b)).Decode(&raw)
		if (derr == nil) != (err == nil) {
			t.Fatalf("Validate(%q) = %v, json.Decoder = %v", b, err, derr)
		}
		if err == nil && !json.Valid(b[:end]) {
			t.Fatalf("Validate(%q) ends at %d: %q is not a JSON value", b, end, b[:end])
		}
	})
}

// FuzzValid checks Valid against encoding/json.Valid, and AppendCompact
// against encoding/json.Compact on what is valid.
func FuzzValid(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := Valid(b), json.Valid(b)
		if got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid = %v", b, got, want)
		}
		if !got {
			// Invalid text: any output, but no panic.
			AppendCompact(nil, b)
			HasSpaceOutsideStrings(b)
			return
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			t.Fatal(err)
		}
		if out := AppendCompact(nil, b); !bytes.Equal(out, c.Bytes()) {
			t.Fatalf("AppendCompact(%q) = %q, json.Compact = %q", b, out, c.Bytes())
		}
		if HasSpaceOutsideStrings(b) != !bytes.Equal(b, c.Bytes()) {
			t.Fatalf("HasSpaceOutsideStrings(%q) = %v", b, HasSpaceOutsideStrings(b))
		}
	})
}

func TestValidErrors(t *testing.T) {
	for in, msg := range map[string]string{
		``:        "EOF",
		`{"a":`:   "unexpected EOF",
		`{"a" 1}`: "invalid character '1' after object key",
		`[1,]`:    "invalid character ']' looking for beginning of value",
		`tx`:      "invalid character 'x' in literal true (expecting 'r')",
	} {
		_, _, err := Validate([]byte(in))
		var derr error
		var raw json.RawMessage
		derr = json.NewDecoder(strings.NewReader(in)).Decode(&raw)
		if err == nil || err.Error() != msg || derr.Error() != msg {
			t.Errorf("Validate(%q) = %v, want %q (json.Decoder: %v)", in, err, msg, derr)
		}
	}
	if Valid([]byte(`{"a":1} x`)) || !Valid([]byte(" {\"a\":1}\n")) {
		t.Error("Valid: trailing bytes must be whitespace only")
	}
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	if Valid([]byte(deep)) != json.Valid([]byte(deep)) {
		t.Error("Valid: nesting limit differs from encoding/json")
	}
}

func TestValidAllocs(t *testing.T) {
	ev := []byte(benchEvent)
	if n := testing.AllocsPerRun(100, func() {
		if !Valid(ev) {
			t.Fatal("invalid")
		}
	}); n != 0 {
		t.Fatalf("Valid allocates %v times per call", n)
	}
}

// A CloudEvent as pubsub.redis holds it.
const benchEvent = `{"data":{"orderId":1,"items":[{"sku":"a-1","qty":2},{"sku":"b-7","qty":1}],"note":"leave at the door"},` +
	`"datacontenttype":"application/json","id":"6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b","pubsubname":"redispubsub",` +
	`"source":"bench","specversion":"1.0","time":"2026-12-07T15:40:19Z","topic":"bench-orders",` +
	`"traceid":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",` +
	`"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","tracestate":"","type":"com.dapr.event.sent"}`

func BenchmarkValid(b *testing.B) {
	ev := []byte(benchEvent)
	b.Run("jsonscan", func(b *testing.B) {
		b.SetBytes(int64(len(ev)))
		b.ReportAllocs()
		for b.Loop() {
			Valid(ev)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(ev)))
		b.ReportAllocs()
		for b.Loop() {
			json.Valid(ev)
		}
	})
}
