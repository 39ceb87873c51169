package http1

import (
	"bytes"
	"encoding/binary"
	"math"
)

// Parse stages.
const (
	stageLine   uint8 = iota // before the request (or status) line
	stageFields              // in the field lines
	stageDone                // head complete
)

// Fields whose repetition matters.
const (
	seenHost = 1 << iota
	seenCL
	seenTE
	seenExpect
	wantContinue // Expect: 100-continue in an HTTP/1.1 request
)

// The errors Parse returns. They are shared values: never modify them.
var (
	errTooLarge      = &Error{Status: 431, Msg: "request head too large"}
	errTooManyFields = &Error{Status: 431, Msg: "too many header fields"}
	errRequestLine   = &Error{Status: 400, Msg: "malformed request line"}
	errMethod        = &Error{Status: 400, Msg: "invalid method"}
	errTarget        = &Error{Status: 400, Msg: "invalid request target"}
	errVersion       = &Error{Status: 400, Msg: "malformed HTTP version"}
	errVersionNotSup = &Error{Status: 505, Msg: "HTTP version not supported", goText: "unsupported protocol version"}
	errField         = &Error{Status: 400, Msg: "malformed header field"}
	errFieldName     = &Error{Status: 400, Msg: "invalid header name", goText: "invalid header name"}
	errHostMissing   = &Error{Status: 400, Msg: "missing required Host header", goText: "missing required Host header"}
	errHostRepeated  = &Error{Status: 400, Msg: "repeated Host header"}
	errHostValue     = &Error{Status: 400, Msg: "malformed Host header", goText: "malformed Host header"}
	errExpect        = &Error{Status: 417, Msg: "unsupported expectation"}
	errCL            = &Error{Status: 400, Msg: "invalid Content-Length"}
	errCLConflict    = &Error{Status: 400, Msg: "conflicting Content-Length"}
	errCLAndTE       = &Error{Status: 400, Msg: "both Content-Length and Transfer-Encoding"}
	errTE10          = &Error{Status: 400, Msg: "Transfer-Encoding in an HTTP/1.0 request"}
	errTENotImpl     = &Error{Status: 501, Msg: "unsupported Transfer-Encoding"}
)

// slash is Path() of an absolute-form target that has no path ("http://h").
var slash = []byte("/")[:1:1]

// Parse parses the request head at the start of buf: request line and header
// fields, kept as views into buf. It returns the head length (also
// r.HeadLen); the body, if any, starts at buf[n:].
//
// When the head is incomplete Parse returns ErrNeedMore: call it again with
// the same bytes followed by more. It resumes where it stopped, so a client
// that trickles its head in byte by byte costs linear time. A head longer than
// maxHead bytes (DefaultMaxHead when maxHead <= 0) or with more than
// MaxHeaders fields fails with a 431 *Error as soon as that is certain.
// Malformed input fails with a 400, 501 or 505 *Error once the line holding
// the fault is complete, so how the input was split never changes the verdict.
//
// After a successful Parse, calling Parse again starts a new message; after
// an error, Parse returns the same error until Reset. Call Reset before
// parsing another buffer that does not extend the previous one.
func (r *Request) Parse(buf []byte, maxHead int) (n int, err error) {
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
		// Stick to the verdict: the state is mid-line and must not be
		// resumed. The 431 for an incomplete head is no exception.
		r.failed = e.(*Error)
		return 0, r.failed
	}
	return n, nil
}

func (r *Request) parse(buf []byte, maxHead int) (n int, err error) {
	if maxHead <= 0 {
		maxHead = DefaultMaxHead
	} else if maxHead > math.MaxInt32 {
		maxHead = math.MaxInt32
	}
	r.buf = buf
	b := buf
	if len(b) > maxHead {
		b = b[:maxHead]
	}
	if r.stage == stageLine {
		r.ContentLength = -1 // also makes a zero Request usable
	}
	i := r.scan
	// A repeat call: nothing to do until the pending line has its LF.
	if r.noLF > i && r.noLF <= len(b) {
		if bytes.IndexByte(b[r.noLF:], '\n') < 0 {
			r.noLF = len(b)
			return 0, needMore(len(buf), maxHead)
		}
	}
	if r.stage == stageLine {
		next, st, e := r.parseRequestLine(b, i)
		switch st {
		case lineIncomplete:
			r.scan, r.noLF = next, len(b)
			return 0, needMore(len(buf), maxHead)
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
			if r.nh == MaxHeaders {
				return 0, errTooManyFields
			}
			r.headers[r.nh] = h
			r.nh++
			if mayMatter(h) {
				if e := r.noteField(h); e != nil {
					return 0, e
				}
			}
			i = next
		case lineEnd:
			r.scan = next
			return r.finish(next)
		case lineIncomplete:
			r.scan, r.noLF = i, len(b)
			return 0, needMore(len(buf), maxHead)
		default:
			return 0, fieldError(b[i:])
		}
	}
}

// fieldError tells a name with whitespace in it (Go's net/http reports that
// one specially) from other malformed field lines. Error path only.
func fieldError(line []byte) *Error {
	if colon := bytes.IndexByte(line, ':'); colon > 0 && line[0] != ' ' && line[0] != '\t' {
		if nl := bytes.IndexByte(line, '\n'); nl > colon {
			name := line[:colon]
			if bytes.ContainsAny(name, " \t") && !bytes.ContainsFunc(name, func(r rune) bool {
				return r != ' ' && r != '\t' && (r >= 0x80 || tchar[r] == 0)
			}) {
				return errFieldName
			}
		}
	}
	return errField
}

// needMore is the verdict on an incomplete head: wait, or 431 if the limit
// is already reached.
func needMore(have, maxHead int) error {
	if have >= maxHead {
		return errTooLarge
	}
	return ErrNeedMore
}

// parseRequestLine parses "method SP target SP version EOL" at b[i], after
// skipping the empty lines RFC 9112 §2.2 lets a server ignore. On
// lineIncomplete, next is where the request line starts.
func (r *Request) parseRequestLine(b []byte, i int) (next int, st lineStatus, err *Error) {
	for i < len(b) {
		if b[i] == '\n' {
			i++
		} else if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			i += 2
		} else {
			break
		}
	}
	ls := i
	// Fast path for the common methods; anything else takes the token loop.
	r.MethodID = MethodOther
	if i+5 <= len(b) {
		switch binary.LittleEndian.Uint32(b[i:]) {
		case 'G' | 'E'<<8 | 'T'<<16 | ' '<<24:
			r.MethodID, i = MethodGet, i+3
		case 'P' | 'U'<<8 | 'T'<<16 | ' '<<24:
			r.MethodID, i = MethodPut, i+3
		case 'P' | 'O'<<8 | 'S'<<16 | 'T'<<24:
			if b[i+4] == ' ' {
				r.MethodID, i = MethodPost, i+4
			}
		}
	}
	if r.MethodID == MethodOther {
		for i < len(b) && tchar[b[i]] != 0 {
			i++
		}
		if i >= len(b) {
			return ls, lineIncomplete, nil
		}
		if b[i] != ' ' || i == ls {
			return ls, badOrIncomplete(b, ls), errMethod
		}
		r.MethodID = MethodFromBytes(b[ls:i])
	}
	r.method = span{int32(ls), int32(i)}
	i++
	ts := i
	for i+8 <= len(b) && stopWord(binary.LittleEndian.Uint64(b[i:])) == 0 {
		i += 8
	}
	for i < len(b) && b[i] > ' ' && b[i] != 0x7f {
		i++
	}
	if i >= len(b) {
		return ls, lineIncomplete, nil
	}
	if b[i] != ' ' || i == ts {
		return ls, badOrIncomplete(b, ls), errRequestLine
	}
	te := i
	i++
	if i+8 > len(b) {
		return ls, badOrIncomplete(b, ls), errVersion
	}
	var verr *Error
	switch w := binary.LittleEndian.Uint64(b[i:]); {
	case w == wHTTP11:
		r.ProtoMinor = 1
	case w == wHTTP10:
		r.ProtoMinor = 0
	case w&0xff_ffff_ffff == wHTTPSlash && isDigit(b[i+5]) && b[i+6] == '.' && isDigit(b[i+7]):
		// RFC 9110 §6.2: a higher minor version of a major version we
		// implement is served as the highest minor we know.
		if b[i+5] == '1' {
			r.ProtoMinor = 1
		} else {
			verr = errVersionNotSup
		}
	default:
		// The 8 bytes may hold the line's LF: judge the line now.
		return ls, badOrIncomplete(b, ls), errVersion
	}
	next, st = lineEndAt(b, i+8, ls)
	switch {
	case st == lineIncomplete:
		return ls, st, nil
	case st == lineBad:
		return ls, st, errVersion
	case verr != nil:
		return ls, lineBad, verr
	}
	if e := r.setTarget(b, ts, te); e != nil {
		return ls, lineBad, e
	}
	return next, lineOK, nil
}

func isDigit(c byte) bool { return c-'0' < 10 }

// setTarget classifies the request-target b[ts:te] (RFC 9112 §3.2).
func (r *Request) setTarget(b []byte, ts, te int) *Error {
	r.target = span{int32(ts), int32(te)}
	t := b[ts:te]
	ps := ts // where the path starts
	switch {
	case t[0] == '/':
	case len(t) == 1 && t[0] == '*':
		if r.MethodID != MethodOptions {
			return errTarget
		}
		r.path = r.target
		return nil
	default:
		// absolute-form: scheme "://" authority [path] ["?" query]
		var rest int
		switch {
		case len(t) > 7 && EqualFold(t[:7], "http://"):
			rest = 7
		case len(t) > 8 && EqualFold(t[:8], "https://"):
			rest = 8
		default:
			return errTarget
		}
		h := rest
		for h < len(t) && t[h] != '/' && t[h] != '?' {
			h++
		}
		if !validAuthority(t[rest:h]) {
			return errTarget
		}
		ps = ts + h
	}
	pe := te
	if q := bytes.IndexByte(b[ps:te], '?'); q >= 0 {
		pe = ps + q
		r.query = span{int32(pe + 1), int32(te)}
	}
	r.path = span{int32(ps), int32(pe)}
	r.slashPath = ps == pe
	// Like Go's net/http, refuse a path with a broken %-escape (the query is
	// left alone: it is decoded, leniently, only when read).
	if !validEscapes(b[ps:pe]) {
		return errTarget
	}
	return nil
}

// validAuthority accepts the authority of an absolute-form target: a host
// name, IPv4 or bracketed IPv6 address and an optional numeric port. It is
// stricter than RFC 3986 (no userinfo, no %-escapes): such targets only come
// from proxies-minded clients, never from a Dapr SDK.
func validAuthority(a []byte) bool {
	host := a
	if i := bytes.LastIndexByte(a, ':'); i >= 0 && bytes.IndexByte(a[i:], ']') < 0 {
		host = a[:i]
		for _, c := range a[i+1:] {
			if !isDigit(c) {
				return false
			}
		}
	}
	if len(host) == 0 {
		return false
	}
	if host[0] == '[' {
		if len(host) < 3 || host[len(host)-1] != ']' {
			return false
		}
		for _, c := range host[1 : len(host)-1] {
			if !isDigit(c) && (c|0x20 < 'a' || c|0x20 > 'f') && c != ':' && c != '.' {
				return false
			}
		}
		return true
	}
	for _, c := range host {
		if !isDigit(c) && (c|0x20 < 'a' || c|0x20 > 'z') && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return true
}

// validEscapes reports whether every '%' in p starts a %XX escape.
func validEscapes(p []byte) bool {
	for {
		i := bytes.IndexByte(p, '%')
		if i < 0 {
			return true
		}
		if i+2 >= len(p) {
			return false
		}
		if _, ok := unhex(p[i+1]); !ok {
			return false
		}
		if _, ok := unhex(p[i+2]); !ok {
			return false
		}
		p = p[i+3:]
	}
}

// noteField applies the header fields that shape framing and connection
// handling.
func (r *Request) noteField(h header) *Error {
	name := h.name.of(r.buf)
	k := classify(name)
	if k == fieldOther {
		return nil
	}
	v := h.value.of(r.buf)
	switch k {
	case fieldHost:
		if r.seen&seenHost != 0 {
			return errHostRepeated
		}
		if !validHost(v) {
			return errHostValue
		}
		r.seen |= seenHost
	case fieldContentLength:
		n, ok := parseContentLength(v)
		if !ok {
			return errCL
		}
		if r.seen&seenCL != 0 && n != r.ContentLength {
			return errCLConflict
		}
		r.seen |= seenCL
		r.ContentLength = n
	case fieldTransferEncoding:
		if r.seen&seenTE != 0 {
			return errTENotImpl // "chunked, chunked" or worse
		}
		r.seen |= seenTE
		if !teChunked(v) {
			return errTENotImpl
		}
	case fieldConnection:
		r.conn |= connectionTokens(v)
	case fieldExpect:
		// As Go's net/http: the first Expect field counts; 100-continue is
		// honoured in HTTP/1.1 only (RFC 9110 §10.1.1); any other
		// expectation is refused with 417.
		if r.seen&seenExpect != 0 {
			return nil
		}
		r.seen |= seenExpect
		switch {
		case hasToken(v, "100-continue"):
			if r.ProtoMinor == 1 {
				r.seen |= wantContinue
			}
		case len(v) > 0:
			return errExpect
		}
	}
	return nil
}

// finish applies the whole-head rules once the empty line is found.
func (r *Request) finish(headLen int) (int, error) {
	if r.seen&seenTE != 0 {
		if r.seen&seenCL != 0 {
			return 0, errCLAndTE // request smuggling (RFC 9112 §6.3)
		}
		if r.ProtoMinor == 0 {
			return 0, errTE10 // faulty framing (RFC 9112 §6.1)
		}
		r.Chunked = true
	}
	// RFC 9112 §3.2, enforced by Go's net/http (and so by daprd) too.
	if r.ProtoMinor == 1 && r.seen&seenHost == 0 {
		return 0, errHostMissing
	}
	if r.ProtoMinor == 1 {
		r.KeepAlive = r.conn&connClose == 0
	} else {
		r.KeepAlive = r.conn&connKeepAlive != 0 && r.conn&connClose == 0
	}
	r.Upgrade = r.conn&connUpgrade != 0
	// Only a body is worth a 100 Continue (Go's server agrees).
	r.Expect100 = r.seen&wantContinue != 0 && (r.Chunked || r.ContentLength > 0)
	r.HeadLen = headLen
	r.stage = stageDone
	return headLen, nil
}

// Reset clears r for the next message; header storage is kept.
func (r *Request) Reset() {
	r.buf = nil
	r.method, r.target, r.path, r.query = span{}, span{}, span{}, span{}
	r.nh = 0
	r.scan, r.noLF, r.stage, r.seen, r.conn, r.slashPath = 0, 0, stageLine, 0, 0, false
	r.failed = nil
	r.MethodID = MethodOther
	r.ProtoMinor = 0
	r.HeadLen = 0
	r.ContentLength = -1
	r.Chunked, r.KeepAlive, r.Expect100, r.Upgrade = false, false, false, false
}

// Rebase points every view at b, which must hold a copy of (at least) the
// head bytes that were parsed, at the same offsets. Use it after copying a
// request out of a buffer that is about to be reused.
func (r *Request) Rebase(b []byte) { r.buf = b }

// Buf returns the buffer the views point into (as given to Parse or Rebase).
func (r *Request) Buf() []byte { return r.buf }

// Method returns the request method as sent.
func (r *Request) Method() []byte { return r.method.of(r.buf) }

// Target returns the request-target as sent.
func (r *Request) Target() []byte { return r.target.of(r.buf) }

// Path returns the path of the target (before any '?'), still
// percent-encoded. For an absolute-form target it is the path part only.
func (r *Request) Path() []byte {
	if r.slashPath {
		return slash
	}
	return r.path.of(r.buf)
}

// Query returns the raw query (after '?', without it), nil when empty.
func (r *Request) Query() []byte {
	if r.query.off == r.query.end {
		return nil
	}
	return r.query.of(r.buf)
}

// Header returns the value of the first header field called name (ASCII
// case-insensitive), trimmed of surrounding whitespace; nil if absent.
func (r *Request) Header(name string) []byte {
	return findHeader(r.buf, r.headers[:r.nh], name)
}

// NumHeaders returns how many header fields the head has.
func (r *Request) NumHeaders() int { return r.nh }

// HeaderAt returns the i-th header field in arrival order; nil, nil when i is
// out of range.
func (r *Request) HeaderAt(i int) (name, value []byte) {
	if uint(i) >= uint(r.nh) {
		return nil, nil
	}
	h := &r.headers[i]
	return h.name.of(r.buf), h.value.of(r.buf)
}
