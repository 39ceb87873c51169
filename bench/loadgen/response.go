package loadgen

import (
	"bytes"
	"errors"
)

// errMalformed marks a response the parser cannot read; the connection is
// dropped and reopened.
var errMalformed = errors.New("malformed response")

// maxHead bounds a response's status line and headers.
const maxHead = 32 << 10

// respHead is what the generator needs from a response head.
type respHead struct {
	status  int
	bodyLen int64 // -1 when chunked
	close   bool  // server asked to close the connection
	size    int   // bytes of the head, final CRLFCRLF included
}

// parseHead parses a complete response head at the start of b. It returns
// ok=false when b does not hold the whole head yet.
func parseHead(b []byte) (h respHead, ok bool, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) > maxHead {
			return h, false, errMalformed
		}
		return h, false, nil
	}
	h.size = end + 4
	// "HTTP/1.1 200 OK"
	if end < 12 || !bytes.HasPrefix(b, []byte("HTTP/1.")) || b[8] != ' ' {
		return h, false, errMalformed
	}
	for i := 9; i < 12; i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return h, false, errMalformed
		}
		h.status = h.status*10 + int(c-'0')
	}
	if b[7] == '0' {
		h.close = true // HTTP/1.0 closes unless told otherwise; rare, keep simple
	}
	// No body for 1xx, 204, 304 whatever the headers say.
	noBody := h.status == 204 || h.status == 304 || h.status < 200
	h.bodyLen = 0
	hasLen := false
	line := bytes.IndexByte(b, '\n') + 1
	for line < end {
		next := bytes.IndexByte(b[line:end+2], '\n')
		if next < 0 {
			return h, false, errMalformed
		}
		l := b[line : line+next] // without '\n'
		line += next + 1
		if len(l) > 0 && l[len(l)-1] == '\r' {
			l = l[:len(l)-1]
		}
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 {
			return h, false, errMalformed
		}
		name, val := l[:colon], trimSpace(l[colon+1:])
		switch {
		case equalFold(name, "content-length"):
			n, ok := parseInt(val)
			if !ok {
				return h, false, errMalformed
			}
			h.bodyLen, hasLen = n, true
		case equalFold(name, "transfer-encoding"):
			if containsFold(val, "chunked") {
				h.bodyLen = -1
			}
		case equalFold(name, "connection"):
			if containsFold(val, "close") {
				h.close = true
			} else if containsFold(val, "keep-alive") {
				h.close = false
			}
		}
	}
	if noBody {
		h.bodyLen = 0
	} else if h.bodyLen == 0 && !hasLen {
		// Neither length nor chunked: the body runs to the close. Refuse
		// rather than hang; no server we measure does this.
		return h, false, errMalformed
	}
	return h, true, nil
}

// chunkState walks a chunked body incrementally.
type chunkState struct {
	remain   int64 // data bytes left in the current chunk, plus its CRLF
	trailers bool  // after the last chunk: skipping trailer lines
	done     bool
}

// consume eats as much of b as it can and returns how many bytes it used.
// It stops short (n < len(b), !done) only when it needs a line that is not
// complete yet.
func (c *chunkState) consume(b []byte) (n int, err error) {
	for n < len(b) && !c.done {
		if c.remain > 0 {
			k := int64(len(b) - n)
			if k > c.remain {
				k = c.remain
			}
			n += int(k)
			c.remain -= k
			continue
		}
		nl := bytes.IndexByte(b[n:], '\n')
		if nl < 0 {
			if len(b)-n > 4096 {
				return n, errMalformed
			}
			return n, nil
		}
		l := b[n : n+nl]
		n += nl + 1
		if len(l) > 0 && l[len(l)-1] == '\r' {
			l = l[:len(l)-1]
		}
		if c.trailers {
			if len(l) == 0 {
				c.done = true
			}
			continue
		}
		if semi := bytes.IndexByte(l, ';'); semi >= 0 {
			l = l[:semi]
		}
		size, ok := parseHex(trimSpace(l))
		if !ok {
			return n, errMalformed
		}
		if size == 0 {
			c.trailers = true
			continue
		}
		c.remain = size + 2 // data then CRLF
	}
	return n, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares b with a lower-case ASCII name.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func containsFold(b []byte, lower string) bool {
	for i := 0; i+len(lower) <= len(b); i++ {
		if equalFold(b[i:i+len(lower)], lower) {
			return true
		}
	}
	return false
}

func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | int64(c)
	}
	return n, true
}
