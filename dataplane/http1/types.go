package http1

import "errors"

// ErrNeedMore means the buffer holds an incomplete message head (or chunk):
// call again with the same bytes plus whatever arrives next.
var ErrNeedMore = errors.New("http1: need more data")

// Error is a parse failure that maps to an HTTP status: 400 malformed,
// 417 unsupported expectation, 431 head too large, 501 unsupported transfer
// coding, 505 bad version; 502 for a response from the app.
type Error struct {
	Status int
	Msg    string

	// goText is the detail Go's net/http puts after the status text when
	// it refuses the same input ("400 Bad Request: <goText>"); "" when Go
	// sends the bare status. See AppendErrorResponse.
	goText string
}

func (e *Error) Error() string { return "http1: " + e.Msg }

// MaxHeaders bounds the header lines kept per message; more is a 431.
const MaxHeaders = 64

// span is a [off,end) view into the message buffer. Offsets, not slices, so
// a request copied to another buffer is re-based without re-parsing.
type span struct{ off, end int32 }

func (s span) of(b []byte) []byte { return b[s.off:s.end:s.end] }

// Method identifies the request method without comparing strings.
type Method uint8

// Methods known to the router. MethodOther is any other valid token.
const (
	MethodOther Method = iota
	MethodGet
	MethodHead
	MethodPost
	MethodPut
	MethodDelete
	MethodPatch
	MethodOptions
	MethodTrace
	MethodConnect
)

type header struct{ name, value span }

// Request is a parsed request head. Every accessor returns a view into the
// buffer given to Parse (or to Rebase); the view is valid while that buffer is.
type Request struct {
	buf     []byte
	method  span
	target  span // request-target as sent
	path    span // target up to '?'
	query   span // after '?', without it; empty when none
	headers [MaxHeaders]header
	nh      int

	// Incremental state: Parse resumes where the previous call stopped.
	scan      int    // offset of the first line not yet parsed
	noLF      int    // buf[scan:noLF] is known to hold no LF
	stage     uint8  // stageLine, stageFields or stageDone
	seen      uint8  // seen* bits: fields met so far
	conn      uint8  // conn* bits from Connection
	slashPath bool   // absolute-form target without a path: Path() is "/"
	failed    *Error // sticky verdict once the head is known to be bad

	MethodID      Method
	ProtoMinor    int   // 0 for HTTP/1.0, 1 for HTTP/1.1
	HeadLen       int   // bytes of the head, including the final CRLFCRLF
	ContentLength int64 // -1 when absent
	Chunked       bool  // Transfer-Encoding: chunked
	KeepAlive     bool  // after Connection and version rules
	Expect100     bool  // Expect: 100-continue
	Upgrade       bool  // Connection: upgrade present (refused by the server)
}
