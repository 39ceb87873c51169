package http1

// Limits on what a chunked body may carry besides data, so a peer cannot make
// us spin on overhead: extensions per chunk-size line, and the trailer section.
const (
	maxChunkExt  = 4 << 10
	maxTrailers  = 16 << 10
	maxHexDigits = 16
)

// ChunkedDecoder decodes the chunked transfer coding (RFC 9112 §7.1)
// incrementally: input may be split anywhere across Decode calls. Extensions
// and trailer fields are checked for syntax and dropped. Line ends must be
// CRLF: a bare LF in chunk framing is refused (it has been a request
// smuggling vector, see Go's CVE-2025-22871). The zero value is ready.
type ChunkedDecoder struct {
	state  uint8
	digits uint8
	inExt  bool   // a ';' extension started on this size line
	left   uint64 // chunk-size being read, then data bytes left in the chunk
	ext    int    // bytes after the size on this size line
	trail  int    // bytes of the trailer section so far
}

// Decoder states.
const (
	csSize       uint8 = iota // first hex digit of a chunk-size
	csSizeMore                // more hex digits
	csExt                     // after the size: BWS, extensions, up to CR
	csSizeLF                  // CR seen on the size line
	csData                    // chunk data
	csDataCR                  // CR after the data
	csDataLF                  // LF after the data
	csTrailStart              // start of a trailer line, or the final CRLF
	csTrailName               // in a trailer field name, up to ':'
	csTrail                   // in a trailer field value
	csTrailLF                 // CR seen in a trailer line
	csEndLF                   // CR of the final empty line seen
	csDone
)

var (
	errChunkSize   = &Error{Status: 400, Msg: "malformed chunk size"}
	errChunkBig    = &Error{Status: 400, Msg: "chunk size too large"}
	errChunkExt    = &Error{Status: 400, Msg: "malformed chunk extension"}
	errChunkCRLF   = &Error{Status: 400, Msg: "missing CRLF in chunked body"}
	errChunkTrail  = &Error{Status: 400, Msg: "malformed trailer section"}
	errChunkTrails = &Error{Status: 431, Msg: "trailer section too large"}
)

// Reset prepares d for a new body.
func (d *ChunkedDecoder) Reset() { *d = ChunkedDecoder{} }

// Decode consumes chunked input from src and appends the decoded data to dst.
// consumed is how many bytes of src were used: all of them unless done, when
// the rest belongs to the next message. Call again with more input until
// done. A malformed body returns a *Error (400), after which d must be Reset.
//
// Decoding in place is allowed and copies only the data: Decode(buf[:0], buf)
// leaves the decoded bytes at the front of buf, because output never
// overtakes input (append moves overlapping bytes safely).
func (d *ChunkedDecoder) Decode(dst, src []byte) (out []byte, consumed int, done bool, err error) {
	i := 0
	for i < len(src) {
		c := src[i]
		switch d.state {
		case csData:
			n := uint64(len(src) - i)
			if n > d.left {
				n = d.left
			}
			dst = append(dst, src[i:i+int(n)]...)
			i += int(n)
			d.left -= n
			if d.left == 0 {
				d.state = csDataCR
			}
			continue
		case csSize, csSizeMore:
			v, ok := unhex(c)
			if !ok {
				if d.state == csSize {
					return dst, i, false, errChunkSize
				}
				d.state = csExt
				continue // csExt judges c
			}
			if d.digits == maxHexDigits || d.left>>59 != 0 {
				return dst, i, false, errChunkBig
			}
			d.digits++
			d.left = d.left<<4 | uint64(v)
			d.state = csSizeMore
		case csExt:
			if d.ext++; d.ext > maxChunkExt {
				return dst, i, false, errChunkExt
			}
			switch {
			case c == '\r':
				d.state = csSizeLF
			case c < 0x20 && c != '\t' || c == 0x7f:
				return dst, i, false, errChunkExt
			case d.inExt || c == ' ' || c == '\t':
			case c == ';':
				d.inExt = true
			default:
				// After the size only BWS and ";ext" may come.
				return dst, i, false, errChunkSize
			}
		case csSizeLF:
			if c != '\n' {
				return dst, i, false, errChunkCRLF
			}
			d.digits, d.ext, d.inExt = 0, 0, false
			if d.left == 0 {
				d.state = csTrailStart
			} else {
				d.state = csData
			}
		case csDataCR:
			if c != '\r' {
				return dst, i, false, errChunkCRLF
			}
			d.state = csDataLF
		case csDataLF:
			if c != '\n' {
				return dst, i, false, errChunkCRLF
			}
			d.state = csSize
		case csTrailStart:
			switch {
			case c == '\r':
				d.state = csEndLF
			case tchar[c] != 0:
				d.state = csTrailName
			default:
				return dst, i, false, errChunkTrail
			}
		case csTrailName:
			switch {
			case c == ':':
				d.state = csTrail
			case tchar[c] == 0:
				return dst, i, false, errChunkTrail
			}
		case csTrail:
			switch {
			case c == '\r':
				d.state = csTrailLF
			case c < 0x20 && c != '\t' || c == 0x7f:
				return dst, i, false, errChunkTrail
			}
		case csTrailLF:
			if c != '\n' {
				return dst, i, false, errChunkCRLF
			}
			d.state = csTrailStart
		case csEndLF:
			if c != '\n' {
				return dst, i, false, errChunkCRLF
			}
			d.state = csDone
			return dst, i + 1, true, nil
		case csDone:
			return dst, i, true, nil
		}
		if d.state >= csTrailStart {
			if d.trail++; d.trail > maxTrailers {
				return dst, i, false, errChunkTrails
			}
		}
		i++
	}
	return dst, i, d.state == csDone, nil
}
