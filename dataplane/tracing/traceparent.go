package tracing

// SpanContext is a parsed W3C traceparent.
type SpanContext struct {
	TraceID [16]byte
	SpanID  [8]byte
	Flags   byte
}

// Sampled reports the sampled flag.
func (sc SpanContext) Sampled() bool { return sc.Flags&1 != 0 }

// TraceParentLen is the length of a version 00 traceparent.
const TraceParentLen = 55

// ParseTraceParent reads a W3C traceparent header value
// ("00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"). Per the spec, a
// version other than 00 (but not ff) may be longer, its extra fields after
// a '-' ignored; hex must be lowercase; an all-zero trace or span id is
// invalid. It does not allocate.
func ParseTraceParent(b []byte) (SpanContext, bool) {
	var sc SpanContext
	// Optional whitespace around the value is allowed by HTTP.
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	if len(b) < TraceParentLen || b[2] != '-' || b[35] != '-' || b[52] != '-' {
		return sc, false
	}
	ver, ok := hexByte(b[0], b[1])
	if !ok || ver == 0xff {
		return sc, false
	}
	if ver == 0 && len(b) != TraceParentLen {
		return sc, false
	}
	if len(b) > TraceParentLen && b[TraceParentLen] != '-' {
		return sc, false
	}
	var nz byte
	for i := range sc.TraceID {
		v, ok := hexByte(b[3+2*i], b[4+2*i])
		if !ok {
			return sc, false
		}
		sc.TraceID[i] = v
		nz |= v
	}
	if nz == 0 {
		return sc, false
	}
	nz = 0
	for i := range sc.SpanID {
		v, ok := hexByte(b[36+2*i], b[37+2*i])
		if !ok {
			return sc, false
		}
		sc.SpanID[i] = v
		nz |= v
	}
	if nz == 0 {
		return sc, false
	}
	f, ok := hexByte(b[53], b[54])
	if !ok {
		return sc, false
	}
	sc.Flags = f
	return sc, true
}

// AppendTraceParent appends sc as a version 00 traceparent.
func AppendTraceParent(dst []byte, sc SpanContext) []byte {
	dst = append(dst, "00-"...)
	dst = appendHex(dst, sc.TraceID[:])
	dst = append(dst, '-')
	dst = appendHex(dst, sc.SpanID[:])
	dst = append(dst, '-')
	return appendHex(dst, []byte{sc.Flags})
}

const hexDigits = "0123456789abcdef"

func appendHex(dst, b []byte) []byte {
	for _, v := range b {
		dst = append(dst, hexDigits[v>>4], hexDigits[v&15])
	}
	return dst
}

func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexNibble(hi)
	l, ok2 := hexNibble(lo)
	return h<<4 | l, ok1 && ok2
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
