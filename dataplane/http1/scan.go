package http1

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
)

// tchar is 1 for the token characters of RFC 9110 §5.6.2 (method and field names).
var tchar = [256]uint8{
	'!': 1, '#': 1, '$': 1, '%': 1, '&': 1, '\'': 1, '*': 1, '+': 1,
	'-': 1, '.': 1, '0': 1, '1': 1, '2': 1, '3': 1, '4': 1, '5': 1, '6': 1,
	'7': 1, '8': 1, '9': 1, 'A': 1, 'B': 1, 'C': 1, 'D': 1, 'E': 1, 'F': 1,
	'G': 1, 'H': 1, 'I': 1, 'J': 1, 'K': 1, 'L': 1, 'M': 1, 'N': 1, 'O': 1,
	'P': 1, 'Q': 1, 'R': 1, 'S': 1, 'T': 1, 'U': 1, 'V': 1, 'W': 1, 'X': 1,
	'Y': 1, 'Z': 1, '^': 1, '_': 1, '`': 1, 'a': 1, 'b': 1, 'c': 1, 'd': 1,
	'e': 1, 'f': 1, 'g': 1, 'h': 1, 'i': 1, 'j': 1, 'k': 1, 'l': 1, 'm': 1,
	'n': 1, 'o': 1, 'p': 1, 'q': 1, 'r': 1, 's': 1, 't': 1, 'u': 1, 'v': 1,
	'w': 1, 'x': 1, 'y': 1, 'z': 1, '|': 1, '~': 1,
}

// hostByte is 1 for the bytes Go's net/http (httpguts.ValidHostHeader) allows
// in a Host value, so we refuse exactly the Host headers daprd refuses.
var hostByte = [256]uint8{
	'!': 1, '$': 1, '%': 1, '&': 1, '\'': 1, '(': 1, ')': 1, '*': 1, '+': 1, ',': 1, '-': 1, '.': 1,
	'0': 1, '1': 1, '2': 1, '3': 1, '4': 1, '5': 1, '6': 1, '7': 1, '8': 1, '9': 1, ':': 1, ';': 1,
	'=': 1, 'A': 1, 'B': 1, 'C': 1, 'D': 1, 'E': 1, 'F': 1, 'G': 1, 'H': 1, 'I': 1, 'J': 1, 'K': 1,
	'L': 1, 'M': 1, 'N': 1, 'O': 1, 'P': 1, 'Q': 1, 'R': 1, 'S': 1, 'T': 1, 'U': 1, 'V': 1, 'W': 1,
	'X': 1, 'Y': 1, 'Z': 1, '[': 1, ']': 1, '_': 1, 'a': 1, 'b': 1, 'c': 1, 'd': 1, 'e': 1, 'f': 1,
	'g': 1, 'h': 1, 'i': 1, 'j': 1, 'k': 1, 'l': 1, 'm': 1, 'n': 1, 'o': 1, 'p': 1, 'q': 1, 'r': 1,
	's': 1, 't': 1, 'u': 1, 'v': 1, 'w': 1, 'x': 1, 'y': 1, 'z': 1, '~': 1,
}

// DefaultMaxHead is the request head limit used when Parse gets maxHead <= 0:
// daprd's default --read-buffer-size (4 KiB), which is also its header limit.
const DefaultMaxHead = 4 << 10

// DefaultMaxResponseHead is the response head limit used when
// (*Response).Parse gets maxHead <= 0.
const DefaultMaxResponseHead = 1 << 20

// Word-at-a-time (SWAR) constants: a value line is checked 8 bytes per step.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// ctlWord is non-zero iff some byte of x is a CTL (< 0x20) or DEL (0x7f).
// With the "has less than" and "has zero" tricks a borrow can only start at
// a hit, so the lowest set bit marks the first such byte exactly (bits above
// it may be spurious).
func ctlWord(x uint64) uint64 {
	y := x ^ (0x7f * ones)
	return ((x-0x20*ones)&^x | (y-ones)&^y) & highs
}

// stopWord is non-zero iff some byte of x is <= 0x20 (CTL or SP) or DEL: the
// bytes that end or invalidate a request-target.
func stopWord(x uint64) uint64 {
	y := x ^ (0x7f * ones)
	return ((x-0x21*ones)&^x | (y-ones)&^y) & highs
}

// lineStatus is what scanning one head line found.
type lineStatus int8

const (
	lineOK         lineStatus = iota // a field line
	lineEnd                          // the empty line ending the head
	lineIncomplete                   // no LF yet: need more bytes
	lineBad                          // malformed, and the line is complete
)

// scanField scans the field line starting at b[i]. On lineOK it returns the
// name and value spans (value trimmed of OWS) and the offset after the line.
// A line is judged only once its LF is in b, so the verdict on a prefix never
// depends on how the bytes were split across calls.
func scanField(b []byte, start int) (h header, next int, st lineStatus) {
	if uint(start) > uint(len(b)) {
		return h, 0, lineIncomplete
	}
	p := b[start:] // relative indexes let the compiler drop bounds checks
	j := 0
	// Names are almost always letters, digits and '-': check those 8 at a
	// time, then let the table judge from the first other byte (normally
	// the colon; '_', '.' and friends are rare but valid).
	for j+8 <= len(p) {
		if m := notAlnumDash(binary.LittleEndian.Uint64(p[j : j+8])); m != 0 {
			j += bits.TrailingZeros64(m) >> 3
			break
		}
		j += 8
	}
	for j < len(p) && tchar[p[j]] != 0 {
		j++
	}
	if j >= len(p) {
		return h, 0, lineIncomplete
	}
	if p[j] != ':' || j == 0 {
		if j == 0 {
			// The empty line: CRLF or a bare LF.
			if p[0] == '\n' {
				return h, start + 1, lineEnd
			}
			if p[0] == '\r' {
				if len(p) < 2 {
					return h, 0, lineIncomplete
				}
				if p[1] == '\n' {
					return h, start + 2, lineEnd
				}
			}
		}
		// Whitespace before the colon, obs-fold, a bad name byte.
		return h, 0, badOrIncomplete(b, start)
	}
	h.name = span{int32(start), int32(start + j)}
	j++
	for j < len(p) && (p[j] == ' ' || p[j] == '\t') {
		j++
	}
	vs := j
	// Find the first CTL or DEL: normally the CR ending the line. The lowest
	// flagged byte of a SWAR mask is exact, so no byte loop is needed.
	for {
		for j+16 <= len(p) {
			if ctlWord(binary.LittleEndian.Uint64(p[j:j+8]))|ctlWord(binary.LittleEndian.Uint64(p[j+8:j+16])) != 0 {
				break
			}
			j += 16
		}
		for j+8 <= len(p) {
			if m := ctlWord(binary.LittleEndian.Uint64(p[j : j+8])); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				goto found
			}
			j += 8
		}
		for j < len(p) && p[j] >= 0x20 && p[j] != 0x7f {
			j++
		}
	found:
		if j < len(p) && p[j] == '\t' {
			j++
			continue
		}
		break
	}
	if j >= len(p) {
		return h, 0, lineIncomplete
	}
	ve := j
	switch p[j] {
	case '\n':
		next = start + j + 1
	case '\r':
		if j+1 >= len(p) {
			return h, 0, lineIncomplete
		}
		if p[j+1] != '\n' {
			return h, 0, badOrIncomplete(b, start)
		}
		next = start + j + 2
	default:
		return h, 0, badOrIncomplete(b, start)
	}
	for ve > vs && (p[ve-1] == ' ' || p[ve-1] == '\t') {
		ve--
	}
	h.value = span{int32(start + vs), int32(start + ve)}
	return h, next, lineOK
}

// notAlnumDash returns a mask with bit 8k+7 set for each byte k of x that
// is not an ASCII letter, digit or '-'; the lowest set bit is exact. Per-byte
// range tests on 7-bit values cannot carry across bytes: (127+n)-v has its
// top bit set iff v < n, v+(127-m) iff v > m.
func notAlnumDash(x uint64) uint64 {
	const lo7 = 0x7f * ones
	v := x & lo7
	l := v | 0x20*ones // fold case; CTLs fold to 0x20..0x3f, never to letters
	letter := ((0x7f+'z'+1)*ones - l) & (l + (0x7f-('a'-1))*ones)
	digit := ((0x7f+'9'+1)*ones - v) & (v + (0x7f-('0'-1))*ones)
	dash := ^((v ^ '-'*ones) + lo7)
	return ^((letter | digit | dash) &^ x) & highs
}

// badOrIncomplete defers the verdict on a malformed line until its LF has
// arrived (see scanField). Only error paths pay for the search.
func badOrIncomplete(b []byte, lineStart int) lineStatus {
	if bytes.IndexByte(b[lineStart:], '\n') < 0 {
		return lineIncomplete
	}
	return lineBad
}

// lineEndAt returns the offset after the line end (CRLF or bare LF) that must
// start at b[i], and its status.
func lineEndAt(b []byte, i, lineStart int) (int, lineStatus) {
	if i >= len(b) {
		return 0, lineIncomplete
	}
	switch b[i] {
	case '\n':
		return i + 1, lineOK
	case '\r':
		if i+1 >= len(b) {
			return 0, lineIncomplete
		}
		if b[i+1] == '\n' {
			return i + 2, lineOK
		}
	}
	return 0, badOrIncomplete(b, lineStart)
}

// fold8 lower-cases ASCII letters in a word of token bytes. Token bytes are
// never CR or other values whose 0x20 bit would alias a letter or '-'.
func fold8(b []byte) uint64 { return binary.LittleEndian.Uint64(b) | 0x20*ones }

// Little-endian words of lower-case header names, compared with fold8.
const (
	wContentL  = 'c' | 'o'<<8 | 'n'<<16 | 't'<<24 | 'e'<<32 | 'n'<<40 | 't'<<48 | '-'<<56 // "content-"
	wTLength   = 't' | '-'<<8 | 'l'<<16 | 'e'<<24 | 'n'<<32 | 'g'<<40 | 't'<<48 | 'h'<<56 // "t-length" (bytes 6..13)
	wTransfer  = 't' | 'r'<<8 | 'a'<<16 | 'n'<<24 | 's'<<32 | 'f'<<40 | 'e'<<48 | 'r'<<56 // "transfer"
	wEncoding  = 'e' | 'n'<<8 | 'c'<<16 | 'o'<<24 | 'd'<<32 | 'i'<<40 | 'n'<<48 | 'g'<<56 // "encoding"
	wConnecti  = 'c' | 'o'<<8 | 'n'<<16 | 'n'<<24 | 'e'<<32 | 'c'<<40 | 't'<<48 | 'i'<<56 // "connecti"
	wNnection  = 'n' | 'n'<<8 | 'e'<<16 | 'c'<<24 | 't'<<32 | 'i'<<40 | 'o'<<48 | 'n'<<56 // "nnection" (bytes 2..9)
	wHTTP11    = 'H' | 'T'<<8 | 'T'<<16 | 'P'<<24 | '/'<<32 | '1'<<40 | '.'<<48 | '1'<<56
	wHTTP10    = 'H' | 'T'<<8 | 'T'<<16 | 'P'<<24 | '/'<<32 | '1'<<40 | '.'<<48 | '0'<<56
	wHTTPSlash = 'H' | 'T'<<8 | 'T'<<16 | 'P'<<24 | '/'<<32
)

// Known header names, recognised by length, then by folded words.
type knownField uint8

const (
	fieldOther knownField = iota
	fieldHost
	fieldExpect
	fieldConnection
	fieldContentLength
	fieldTransferEncoding
)

// mayMatter is classify's cheap, inlinable pre-filter: only names of these
// lengths can be fields that Parse acts on.
func mayMatter(h header) bool {
	const lens = 1<<4 | 1<<6 | 1<<10 | 1<<14 | 1<<17
	return lens>>uint(h.name.end-h.name.off)&1 != 0
}

func classify(name []byte) knownField {
	switch len(name) {
	case 4:
		if equalFoldToken(name, "host") {
			return fieldHost
		}
	case 6:
		if equalFoldToken(name, "expect") {
			return fieldExpect
		}
	case 10:
		if fold8(name) == wConnecti && fold8(name[2:]) == wNnection {
			return fieldConnection
		}
	case 14:
		if fold8(name) == wContentL && fold8(name[6:]) == wTLength {
			return fieldContentLength
		}
	case 17:
		if fold8(name) == wTransfer && name[8] == '-' && fold8(name[9:]) == wEncoding {
			return fieldTransferEncoding
		}
	}
	return fieldOther
}

// equalFoldToken compares a token (already validated) with a lower-case name.
func equalFoldToken(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// EqualFold compares arbitrary bytes with s, ASCII case-insensitively
// (header names, metadata keys); it does not allocate. Every package that
// needs this comparison uses this one.
func EqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if !foldEq(b[i], s[i]) {
			return false
		}
	}
	return true
}

// EqualFoldString is EqualFold for two strings.
func EqualFoldString(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if !foldEq(a[i], b[i]) {
			return false
		}
	}
	return true
}

func foldEq(x, y byte) bool {
	if x == y {
		return true
	}
	if x|0x20 != y|0x20 {
		return false
	}
	l := x | 0x20
	return l >= 'a' && l <= 'z'
}

func validHost(v []byte) bool {
	for _, c := range v {
		if hostByte[c] == 0 {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds token
// (ASCII case-insensitive).
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var t []byte
		t, v = nextToken(v)
		if EqualFold(t, token) {
			return true
		}
	}
	return false
}

// parseContentLength parses 1*DIGIT into a non-negative int64.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		d := int64(c) - '0'
		if d < 0 || d > 9 {
			return 0, false
		}
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// nextToken returns the next comma-separated list element of v, trimmed of
// OWS, and the rest. Empty elements are returned as empty tokens.
func nextToken(v []byte) (tok, rest []byte) {
	i := bytes.IndexByte(v, ',')
	if i < 0 {
		tok, rest = v, nil
	} else {
		tok, rest = v[:i], v[i+1:]
	}
	for len(tok) > 0 && (tok[0] == ' ' || tok[0] == '\t') {
		tok = tok[1:]
	}
	for len(tok) > 0 && (tok[len(tok)-1] == ' ' || tok[len(tok)-1] == '\t') {
		tok = tok[:len(tok)-1]
	}
	return tok, rest
}

// Connection option bits.
const (
	connClose = 1 << iota
	connKeepAlive
	connUpgrade
)

func connectionTokens(v []byte) (bits uint8) {
	for len(v) > 0 {
		var t []byte
		t, v = nextToken(v)
		switch {
		case EqualFold(t, "close"):
			bits |= connClose
		case EqualFold(t, "keep-alive"):
			bits |= connKeepAlive
		case EqualFold(t, "upgrade"):
			bits |= connUpgrade
		}
	}
	return bits
}

// teChunked reports whether a Transfer-Encoding value is exactly "chunked"
// (any case): like Go's net/http and nginx, nothing else, not even a list
// ending in chunked, is accepted.
func teChunked(v []byte) bool { return EqualFold(v, "chunked") }

// findHeader returns the value of the first header called name.
func findHeader(buf []byte, hs []header, name string) []byte {
	for i := range hs {
		h := &hs[i]
		if int(h.name.end-h.name.off) == len(name) && EqualFold(h.name.of(buf), name) {
			return h.value.of(buf)
		}
	}
	return nil
}
