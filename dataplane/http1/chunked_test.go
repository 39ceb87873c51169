package http1

import (
	"bytes"
	"strings"
	"testing"
)

// decodeAll runs d over in, fed in pieces of at most step bytes.
func decodeAll(in string, step int) (out []byte, consumed int, done bool, err error) {
	var d ChunkedDecoder
	src := []byte(in)
	for consumed < len(src) && !done {
		end := consumed + step
		if end > len(src) {
			end = len(src)
		}
		var n int
		out, n, done, err = d.Decode(out, src[consumed:end])
		consumed += n
		if err != nil {
			return
		}
		if !done && n != end-(consumed-n) {
			return out, consumed, done, &Error{Msg: "short consume without done"}
		}
	}
	return
}

func TestChunkedValid(t *testing.T) {
	cases := []struct{ in, want string }{
		{"0\r\n\r\n", ""},
		{"5\r\nhello\r\n0\r\n\r\n", "hello"},
		{"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"},
		{"A\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
		{"a\r\n0123456789\r\n0000\r\n\r\n", "0123456789"},
		{"5;name=value\r\nhello\r\n0;x\r\n\r\n", "hello"},
		{"5 ;name=\"quoted value\"\r\nhello\r\n0\r\n\r\n", "hello"},
		{"5 \r\nhello\r\n0\r\n\r\n", "hello"},
		{"5\r\nhello\r\n0\r\nTrailer-A: x\r\nTrailer-B: y z\r\nT:\r\n\r\n", "hello"},
		{"000000000000000A\r\n0123456789\r\n0\r\n\r\n", "0123456789"},
		{"3\r\n\r\n\r\r\n0\r\n\r\n", "\r\n\r"}, // CRLF inside data is data
	}
	for _, c := range cases {
		whole := c.in + "NEXT"
		for step := 1; step <= len(whole); step++ {
			out, n, done, err := decodeAll(whole, step)
			if err != nil || !done || string(out) != c.want || n != len(c.in) {
				t.Fatalf("%q step %d: out=%q n=%d done=%v err=%v", c.in, step, out, n, done, err)
			}
		}
	}
}

// TestChunkedEverySplit feeds a body in two pieces at every split point.
func TestChunkedEverySplit(t *testing.T) {
	in := []byte("4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nGET")
	want := "Wikipedia in\r\n\r\nchunks."
	for split := 0; split <= len(in); split++ {
		var d ChunkedDecoder
		body := len(in) - 3
		out, n1, done, err := d.Decode(nil, in[:split])
		if err != nil || done != (split >= body) || n1 != min(split, body) {
			t.Fatalf("split %d first: n=%d done=%v err=%v", split, n1, done, err)
		}
		out, n2, done, err := d.Decode(out, in[n1:])
		if err != nil || !done || string(out) != want || n1+n2 != body {
			t.Fatalf("split %d: out=%q n=%d done=%v err=%v", split, out, n1+n2, done, err)
		}
		// Once done, further input is left alone.
		if _, n, done, err := d.Decode(out, []byte("more")); n != 0 || !done || err != nil {
			t.Fatalf("after done: %d %v %v", n, done, err)
		}
	}
}

func TestChunkedInvalid(t *testing.T) {
	cases := []string{
		"\r\n",                           // no size
		"x\r\n",                          // not hex
		" 5\r\nhello\r\n0\r\n\r\n",       // leading space
		"-5\r\n",                         // sign
		"0x5\r\nhello\r\n0\r\n\r\n",      // 0x prefix
		"5\nhello\r\n0\r\n\r\n",          // bare LF after size
		"5\rhello\r\n0\r\n\r\n",          // CR without LF
		"5\r\nhelloX\r\n0\r\n\r\n",       // data longer than size
		"5\r\nhello\n0\r\n\r\n",          // bare LF after data
		"5\r\nhello\r\r\n",               // CR CR
		"5x\r\nhello\r\n0\r\n\r\n",       // junk after size
		"5 x\r\nhello\r\n0\r\n\r\n",      // junk after BWS
		"5;a\x00b\r\nhello\r\n0\r\n\r\n", // NUL in extension
		"5;a\nb\r\nhello\r\n0\r\n\r\n",   // LF in extension
		"0\r\n\n",                        // bare LF ending
		"0\r\nX: y\n\r\n",                // bare LF in trailer
		"0\r\n X: y\r\n\r\n",             // trailer obs-fold
		"0\r\nX: a\x01\r\n\r\n",          // CTL in trailer
		"0\r\nX\r\n\r\n",                 // trailer without colon
		"0\r\nX : y\r\n\r\n",             // space before colon
		"0\r\nX(: y\r\n\r\n",             // bad name byte
		"0\r\n\r\r",                      // bad final
		"10000000000000000\r\n",          // 17 hex digits
		"8000000000000000\r\n",           // > MaxInt64
		"FFFFFFFFFFFFFFFF\r\n",           // > MaxInt64
		"00000000000000001\r\n",          // 17 digits even with leading zeros
		"5;" + strings.Repeat("e", maxChunkExt) + "\r\nhello\r\n0\r\n\r\n",
		"0\r\n" + strings.Repeat("X-T: "+strings.Repeat("v", 100)+"\r\n", maxTrailers/100) + "\r\n",
	}
	for _, in := range cases {
		for _, step := range []int{1, 3, len(in)} {
			_, _, done, err := decodeAll(in, step)
			if done || err == nil {
				t.Errorf("%.40q step %d: done=%v err=%v", in, step, done, err)
				continue
			}
			if s := statusOf(err); s != 400 && s != 431 {
				t.Errorf("%.40q: status %d", in, s)
			}
		}
	}
}

func TestChunkedInPlace(t *testing.T) {
	in := "4;a=b\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\nGET"
	for split := 0; split <= len(in); split++ {
		buf := []byte(in)
		var d ChunkedDecoder
		out, n1, _, err := d.Decode(buf[:0], buf[:split])
		if err != nil {
			t.Fatal(err)
		}
		// The caller keeps decoded bytes at the front and the unconsumed
		// input after them, as a connection's read buffer would.
		k := len(out)
		rest := copy(buf[k:], buf[n1:])
		out, n2, done, err := d.Decode(buf[:k], buf[k:k+rest])
		if err != nil || !done || string(out) != "Wikipedia in\r\n\r\nchunks." || string(buf[k+n2:k+rest]) != "GET" {
			t.Fatalf("split %d: %q done=%v err=%v", split, out, done, err)
		}
	}
}

func TestChunkedHugeSize(t *testing.T) {
	// The largest legal size is accepted; data then streams through.
	var d ChunkedDecoder
	out, n, done, err := d.Decode(nil, []byte("7FFFFFFFFFFFFFFF\r\nabc"))
	if err != nil || done || n != 21 || string(out) != "abc" || d.left != 1<<63-1-3 {
		t.Fatalf("n=%d done=%v err=%v out=%q left=%d", n, done, err, out, d.left)
	}
	d.Reset()
	if d != (ChunkedDecoder{}) {
		t.Fatal("Reset")
	}
}

func TestChunkedRoundTrip(t *testing.T) {
	var enc []byte
	var want []byte
	for i := 1; i < 40; i += 7 {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, i*13)
		want = append(want, p...)
		enc = AppendChunk(enc, p)
	}
	enc = AppendChunk(enc, nil) // must not end the body
	enc = AppendLastChunk(enc)
	out, n, done, err := decodeAll(string(enc), 5)
	if err != nil || !done || n != len(enc) || !bytes.Equal(out, want) {
		t.Fatalf("n=%d/%d done=%v err=%v eq=%v", n, len(enc), done, err, bytes.Equal(out, want))
	}
}

func TestChunkedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("race detector allocates")
	}
	in := []byte("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	dst := make([]byte, 0, 64)
	var d ChunkedDecoder
	if a := testing.AllocsPerRun(1000, func() {
		d.Reset()
		if _, _, done, err := d.Decode(dst, in); !done || err != nil {
			t.Fatal(done, err)
		}
	}); a != 0 {
		t.Fatalf("Decode allocates %v", a)
	}
}

func BenchmarkChunkedDecode(b *testing.B) {
	var in []byte
	p := bytes.Repeat([]byte("x"), 4096)
	for i := 0; i < 16; i++ {
		in = AppendChunk(in, p)
	}
	in = AppendLastChunk(in)
	dst := make([]byte, 0, 70000)
	var d ChunkedDecoder
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		d.Reset()
		if _, _, done, err := d.Decode(dst, in); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}

func BenchmarkChunkedDecodeSmall(b *testing.B) {
	in := AppendLastChunk(AppendChunk(nil, []byte(`[{"key":"k1","value":{"a":1}}]`)))
	dst := make([]byte, 0, 64)
	var d ChunkedDecoder
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		d.Reset()
		if _, _, done, err := d.Decode(dst, in); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}
