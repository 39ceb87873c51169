package appchannel

import (
	"github.com/skiffd/skiff/dataplane/http1"
	"io"
	"strconv"
)

// Request is one call to the app. The zero value is ready to use; Reset
// prepares it for reuse and keeps its header buffer.
type Request struct {
	// Method is the request method as it goes on the wire ("GET").
	Method []byte
	// Path is the request path as it goes on the wire, percent-encoding
	// included; it must start with '/'.
	Path []byte
	// Query is the raw query string, without '?'; empty for none.
	Query []byte
	// Body is a body held in memory; it is sent with its Content-Length.
	Body []byte
	// BodyStream, when set, is sent instead of Body: with Content-Length
	// when ContentLength >= 0, chunked otherwise.
	BodyStream    io.Reader
	ContentLength int64

	hdr        []byte // encoded "Name: value\r\n" lines
	idempotent bool   // an Idempotency-Key header was added
}

// Reset clears r for reuse.
func (r *Request) Reset() {
	r.Method, r.Path, r.Query, r.Body = nil, nil, nil, nil
	r.BodyStream = nil
	r.ContentLength = 0
	r.hdr = r.hdr[:0]
	r.idempotent = false
}

// AddHeader adds a header line. Names and values must be valid field
// tokens/values (no CR or LF): views of a parsed request always are. Framing
// headers (Host, Content-Length, Transfer-Encoding, Connection) are the
// client's and must not be added.
func (r *Request) AddHeader(name, value []byte) {
	r.hdr = append(r.hdr, name...)
	r.hdr = append(r.hdr, ": "...)
	r.hdr = append(r.hdr, value...)
	r.hdr = append(r.hdr, "\r\n"...)
	r.noteIdempotency(name)
}

// AddHeaderString is AddHeader for strings.
func (r *Request) AddHeaderString(name, value string) {
	r.hdr = append(r.hdr, name...)
	r.hdr = append(r.hdr, ": "...)
	r.hdr = append(r.hdr, value...)
	r.hdr = append(r.hdr, "\r\n"...)
	r.noteIdempotency([]byte(name))
}

func (r *Request) noteIdempotency(name []byte) {
	if len(name) == len("idempotency-key") && http1.EqualFold(name, "idempotency-key") ||
		len(name) == len("x-idempotency-key") && http1.EqualFold(name, "x-idempotency-key") {
		r.idempotent = true
	}
}

// Replayable reports whether the request may be sent a second time after the
// connection it went out on turned out to be closed (see doc.go).
func (r *Request) Replayable() bool {
	if r.BodyStream != nil {
		return false
	}
	if r.idempotent {
		return true
	}
	switch string(r.Method) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return false
}

func (r *Request) isHEAD() bool { return string(r.Method) == "HEAD" }

// wantsBodyLength: like Go's client, an empty body is announced with
// "Content-Length: 0" only on methods that normally carry one.
func (r *Request) wantsBodyLength() bool {
	switch string(r.Method) {
	case "POST", "PUT", "PATCH":
		return true
	}
	return false
}

// appendHead encodes the request head (and nothing of the body).
func (r *Request) appendHead(dst []byte, host string, token string, chunked bool, length int64) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	if len(r.Path) == 0 {
		dst = append(dst, '/')
	} else {
		dst = append(dst, r.Path...)
	}
	if len(r.Query) > 0 {
		dst = append(dst, '?')
		dst = append(dst, r.Query...)
	}
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\n"...)
	dst = append(dst, r.hdr...)
	if token != "" {
		dst = append(dst, "dapr-api-token: "...)
		dst = append(dst, token...)
		dst = append(dst, "\r\n"...)
	}
	switch {
	case chunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case length > 0 || length == 0 && r.wantsBodyLength():
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, length, 10)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}
