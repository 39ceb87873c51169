package http1

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestClassify(t *testing.T) {
	known := map[string]knownField{
		"Host": fieldHost, "HOST": fieldHost, "host": fieldHost,
		"Expect": fieldExpect, "expect": fieldExpect,
		"Connection": fieldConnection, "CONNECTION": fieldConnection,
		"Content-Length": fieldContentLength, "content-length": fieldContentLength, "CoNtEnT-lEnGtH": fieldContentLength,
		"Transfer-Encoding": fieldTransferEncoding, "TRANSFER-ENCODING": fieldTransferEncoding,
	}
	for name, want := range known {
		if got := classify([]byte(name)); got != want {
			t.Errorf("%q: %v want %v", name, got, want)
		}
		if !mayMatter(header{name: span{0, int32(len(name))}}) {
			t.Errorf("%q filtered out", name)
		}
	}
	for _, name := range []string{
		"Hos", "Hostx", "Ghost", "Expecs", "Connectiom", "Xonnection", "Content-Lengtx",
		"Content_Length", "Contentxlength", "Content-Type", "Transfer-Encodinx", "Transfer_Encoding",
		"Transfer~Encoding", "User-Agent", "Keep-Alive", "", "X",
	} {
		if got := classify([]byte(name)); got != fieldOther {
			t.Errorf("%q: %v, want fieldOther", name, got)
		}
	}
}

func TestHeaderLookupFold(t *testing.T) {
	in := []byte("GET / HTTP/1.1\r\nHost: h\r\nX-A^: caret\r\nx_b: under\r\nX-Dapr-ID: id\r\n\r\n")
	var r Request
	if _, err := r.Parse(in, 0); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"x-a^": "caret", "X-A^": "caret", "X_B": "under", "x-dapr-id": "id", "X-DAPR-ID": "id",
	} {
		if got := r.Header(name); string(got) != want {
			t.Errorf("%q: %q want %q", name, got, want)
		}
	}
	for _, name := range []string{"x-a~", "x-b", "X-Dapr-I", "X-Dapr-IDs", "", "hosT "} {
		if got := r.Header(name); got != nil {
			t.Errorf("%q matched %q", name, got)
		}
	}
}

// TestSWAR checks the word-at-a-time predicates against byte loops for
// every byte value in every position.
func TestSWAR(t *testing.T) {
	base := []byte("abcdefgh")
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			w := append([]byte(nil), base...)
			w[pos] = byte(c)
			x := binary.LittleEndian.Uint64(w)
			ctl := c < 0x20 || c == 0x7f
			if m := ctlWord(x); (m != 0) != ctl {
				t.Fatalf("ctlWord %#x at %d: %#x", c, pos, m)
			} else if ctl {
				if first := bitsTZ(m) >> 3; first != pos {
					t.Fatalf("ctlWord %#x at %d: first flagged %d", c, pos, first)
				}
			}
			stop := c <= 0x20 || c == 0x7f
			if m := stopWord(x); (m != 0) != stop {
				t.Fatalf("stopWord %#x at %d: %#x", c, pos, m)
			}
			alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-'
			if m := notAlnumDash(x); (m != 0) == alnum {
				t.Fatalf("notAlnumDash %#x at %d: %#x", c, pos, m)
			} else if !alnum && bitsTZ(m)>>3 != pos {
				t.Fatalf("notAlnumDash %#x at %d: first flagged %d", c, pos, bitsTZ(m)>>3)
			}
			tok := bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), byte(c)) >= 0 || alnum
			if (tchar[c] != 0) != tok {
				t.Fatalf("tchar[%#x] = %d", c, tchar[c])
			}
		}
	}
	// A CTL followed by more CTLs: the lowest flag is still the first one.
	for pos := 0; pos < 8; pos++ {
		w := []byte("\x01\x01\x01\x01\x01\x01\x01\x01")
		for i := 0; i < pos; i++ {
			w[i] = 'a'
		}
		if first := bitsTZ(ctlWord(binary.LittleEndian.Uint64(w))) >> 3; first != pos {
			t.Fatalf("run of CTLs from %d: first %d", pos, first)
		}
	}
}

func bitsTZ(m uint64) int {
	n := 0
	for m&1 == 0 && n < 64 {
		m >>= 1
		n++
	}
	return n
}
