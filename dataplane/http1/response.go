package http1

import (
	"bytes"
	"encoding/binary"
	"math"
)

// maxResponseFields bounds the header fields of a response.
const maxResponseFields = 256

// Response is a parsed response head, read by the client that calls the app.
// Views returned by its accessors point into the buffer given to Parse.
type Response struct {
	Status        int
	ProtoMinor    int
	HeadLen       int
	ContentLength int64 // -1 when absent (or overridden by chunked)
	Chunked       bool
	KeepAlive     bool

	buf     []byte
	reason  span
	headers []header // reused across messages; grows to the largest seen

	scan   int
	noLF   int
	stage  uint8
	seen   uint8
	conn   uint8
	failed *Error // sticky verdict
}

// Errors of (*Response).Parse: the app sent something we cannot relay, so
// they carry 502. Shared values: never modify them.
var (
	errRespTooLarge = &Error{Status: 502, Msg: "response head too large"}
	errRespFields   = &Error{Status: 502, Msg: "too many response header fields"}
	errRespLine     = &Error{Status: 502, Msg: "malformed status line"}
	errRespVersion  = &Error{Status: 502, Msg: "unsupported response version"}
	errRespField    = &Error{Status: 502, Msg: "malformed response header field"}
	errRespCL       = &Error{Status: 502, Msg: "invalid response Content-Length"}
	errRespTE       = &Error{Status: 502, Msg: "unsupported response Transfer-Encoding"}
)

// Parse parses the response head at the start of buf, incrementally like
// (*Request).Parse: ErrNeedMore until the head is complete, *Error (Status
// 502) when it is malformed or exceeds maxHead (DefaultMaxResponseHead when
// maxHead <= 0); the error sticks until Reset. A 1xx head is returned like
// any other: Reset (or just Parse the bytes after it) for the final one.
func (r *Response) Parse(buf []byte, maxHead int) (n int, err error) {
	if r.failed != nil {
		return 0, r.failed
	}
	if r.stage == stageDone || r.scan > len(buf) {
		r.Reset()
	}
	n, e := r.parse(buf, maxHead)
	if e != nil {
		if e == ErrNeedMore {
			return 0, ErrNeedMore
		}
		r.failed = e.(*Error)
		return 0, r.failed
	}
	return n, nil
}

func (r *Response) parse(buf []byte, maxHead int) (n int, err error) {
	if r.stage == stageLine {
		r.ContentLength = -1
	}
	if maxHead <= 0 {
		maxHead = DefaultMaxResponseHead
	} else if maxHead > math.MaxInt32 {
		maxHead = math.MaxInt32
	}
	r.buf = buf
	b := buf
	if len(b) > maxHead {
		b = b[:maxHead]
	}
	i := r.scan
	more := func() error {
		r.scan, r.noLF = i, len(b)
		if len(buf) >= maxHead {
			return errRespTooLarge
		}
		return ErrNeedMore
	}
	if r.noLF > i && r.noLF <= len(b) && bytes.IndexByte(b[r.noLF:], '\n') < 0 {
		return 0, more()
	}
	if r.stage == stageLine {
		next, st, e := r.parseStatusLine(b, i)
		switch st {
		case lineIncomplete:
			return 0, more()
		case lineBad:
			return 0, e
		}
		i = next
		r.stage = stageFields
	}
	for {
		h, next, st := scanField(b, i)
		switch st {
		case lineOK:
			if len(r.headers) == maxResponseFields {
				return 0, errRespFields
			}
			r.headers = append(r.headers, h)
			if mayMatter(h) {
				if e := r.noteField(h); e != nil {
					return 0, e
				}
			}
			i = next
		case lineEnd:
			r.scan = next
			return r.finish(next), nil
		case lineIncomplete:
			return 0, more()
		default:
			return 0, errRespField
		}
	}
}

// parseStatusLine parses "HTTP/1.x SP 3DIGIT [SP reason] EOL". A missing
// reason (even without its SP) is accepted, as Go's client does.
func (r *Response) parseStatusLine(b []byte, i int) (next int, st lineStatus, err *Error) {
	ls := i
	if i+12 > len(b) {
		return ls, badOrIncomplete(b, ls), errRespLine
	}
	switch binary.LittleEndian.Uint64(b[i:]) {
	case wHTTP11:
		r.ProtoMinor = 1
	case wHTTP10:
		r.ProtoMinor = 0
	default:
		if w := binary.LittleEndian.Uint64(b[i:]); w&0xff_ffff_ffff == wHTTPSlash {
			return ls, badOrIncomplete(b, ls), errRespVersion
		}
		return ls, badOrIncomplete(b, ls), errRespLine
	}
	i += 8
	if b[i] != ' ' || !isDigit(b[i+1]) || !isDigit(b[i+2]) || !isDigit(b[i+3]) {
		return ls, badOrIncomplete(b, ls), errRespLine
	}
	r.Status = int(b[i+1]-'0')*100 + int(b[i+2]-'0')*10 + int(b[i+3]-'0')
	if r.Status < 100 {
		return ls, badOrIncomplete(b, ls), errRespLine
	}
	i += 4
	rs := i
	if i < len(b) && b[i] == ' ' {
		i++
		rs = i
		for i < len(b) && (b[i] >= 0x20 && b[i] != 0x7f || b[i] == '\t') {
			i++
		}
	}
	next, st = lineEndAt(b, i, ls)
	if st != lineOK {
		return ls, st, errRespLine
	}
	r.reason = span{int32(rs), int32(i)}
	return next, lineOK, nil
}

func (r *Response) noteField(h header) *Error {
	k := classify(h.name.of(r.buf))
	if k == fieldOther {
		return nil
	}
	v := h.value.of(r.buf)
	switch k {
	case fieldContentLength:
		n, ok := parseContentLength(v)
		if !ok || r.seen&seenCL != 0 && n != r.ContentLength {
			return errRespCL
		}
		r.seen |= seenCL
		r.ContentLength = n
	case fieldTransferEncoding:
		// RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
		if r.seen&seenTE != 0 || !teChunked(v) || r.ProtoMinor == 0 {
			return errRespTE
		}
		r.seen |= seenTE
	case fieldConnection:
		r.conn |= connectionTokens(v)
	}
	return nil
}

func (r *Response) finish(headLen int) int {
	if r.ProtoMinor == 1 {
		r.KeepAlive = r.conn&connClose == 0
	} else {
		r.KeepAlive = r.conn&connKeepAlive != 0 && r.conn&connClose == 0
	}
	if r.seen&seenTE != 0 {
		// RFC 9112 §6.3: chunked overrides Content-Length; a message with
		// both is suspect, so do not reuse the connection after it.
		r.Chunked = true
		if r.seen&seenCL != 0 {
			r.ContentLength = -1
			r.KeepAlive = false
		}
	}
	r.HeadLen = headLen
	r.stage = stageDone
	return headLen
}

// Reset clears r for the next message; header storage is kept.
func (r *Response) Reset() {
	r.Status, r.ProtoMinor, r.HeadLen = 0, 0, 0
	r.ContentLength = -1
	r.Chunked, r.KeepAlive = false, false
	r.buf = nil
	r.reason = span{}
	r.headers = r.headers[:0]
	r.scan, r.noLF, r.stage, r.seen, r.conn = 0, 0, stageLine, 0, 0
	r.failed = nil
}

// Rebase points every view at b, a copy of the parsed bytes.
func (r *Response) Rebase(b []byte) { r.buf = b }

// Buf returns the buffer the views point into.
func (r *Response) Buf() []byte { return r.buf }

// Reason returns the reason phrase as sent (possibly empty).
func (r *Response) Reason() []byte { return r.reason.of(r.buf) }

// Header returns the value of the first header field called name (ASCII
// case-insensitive); nil if absent.
func (r *Response) Header(name string) []byte { return findHeader(r.buf, r.headers, name) }

// NumHeaders returns how many header fields the head has.
func (r *Response) NumHeaders() int { return len(r.headers) }

// HeaderAt returns the i-th header field; nil, nil when out of range.
func (r *Response) HeaderAt(i int) (name, value []byte) {
	if uint(i) >= uint(len(r.headers)) {
		return nil, nil
	}
	h := &r.headers[i]
	return h.name.of(r.buf), h.value.of(r.buf)
}

// HasBody reports whether a body follows the head (RFC 9112 §6.3): never for
// 1xx, 204, 304 or the answer to a HEAD request.
func (r *Response) HasBody(requestWasHEAD bool) bool {
	return !requestWasHEAD && r.Status >= 200 && r.Status != 204 && r.Status != 304
}

// BodyUntilClose reports whether the body has neither a length nor chunked
// framing, so it ends when the app closes the connection.
func (r *Response) BodyUntilClose(requestWasHEAD bool) bool {
	return r.HasBody(requestWasHEAD) && !r.Chunked && r.ContentLength < 0
}
