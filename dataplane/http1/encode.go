package http1

import (
	"strconv"
	"time"
)

// AppendStatusLine appends "HTTP/1.<minor> <status> <text>\r\n". Like Go's
// net/http (and so daprd), a code without a standard text gets
// "status code <n>" as its reason. status should be in 100..999.
func AppendStatusLine(dst []byte, minor, status int) []byte {
	if minor == 0 {
		dst = append(dst, "HTTP/1.0 "...)
	} else {
		dst = append(dst, "HTTP/1.1 "...)
	}
	if status >= 100 && status <= 999 {
		dst = append(dst, byte('0'+status/100), byte('0'+status/10%10), byte('0'+status%10), ' ')
	} else {
		dst = strconv.AppendInt(dst, int64(status), 10)
		dst = append(dst, ' ')
	}
	if text := StatusText(status); text != "" {
		dst = append(dst, text...)
	} else {
		dst = append(dst, "status code "...)
		dst = strconv.AppendInt(dst, int64(status), 10)
	}
	return append(dst, '\r', '\n')
}

var errBare400 = &Error{Status: 400, Msg: "bad request"}

// AppendErrorResponse appends the whole response Go's net/http (and so
// daprd) sends when it refuses a request head for the reason err carries, so
// that a malformed request gets the same bytes from skiff: plain text, no
// Dapr JSON, "Connection: close". err is what (*Request).Parse returned; any
// other error is answered as a bare 400. The caller closes the connection
// after writing it. A 417 is a regular, empty response in Go; it gets a Date
// header when date is not zero.
func AppendErrorResponse(dst []byte, err error, date time.Time) []byte {
	e, ok := err.(*Error)
	if !ok || e == nil {
		e = errBare400
	}
	switch e.Status {
	case 417:
		dst = AppendStatusLine(dst, 1, 417)
		dst = append(dst, "Connection: close\r\n"...)
		if !date.IsZero() {
			dst = append(dst, "Date: "...)
			dst = AppendHTTPDate(dst, date)
			dst = append(dst, '\r', '\n')
		}
		return append(dst, "Content-Length: 0\r\n\r\n"...)
	case 400, 431, 501, 505:
	default:
		e = errBare400
	}
	const headers = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
	dst = append(dst, "HTTP/1.1 "...)
	mark := len(dst)
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, StatusText(e.Status)...)
	if e.goText != "" {
		dst = append(dst, ": "...)
		dst = append(dst, e.goText...)
	}
	line := len(dst)
	dst = append(dst, headers...)
	if e.Status == 501 {
		// Go does not echo the coding back (XSS caution), nor repeat the line.
		return append(dst, "Unsupported transfer encoding"...)
	}
	// The body repeats the status line's text; copy it from dst itself.
	return append(dst, dst[mark:line]...)
}

// AppendChunk appends p as one chunk of the chunked coding. An empty p
// appends nothing: a zero-size chunk would end the body.
func AppendChunk(dst, p []byte) []byte {
	if len(p) == 0 {
		return dst
	}
	dst = strconv.AppendUint(dst, uint64(len(p)), 16)
	dst = append(dst, '\r', '\n')
	dst = append(dst, p...)
	return append(dst, '\r', '\n')
}

// AppendLastChunk appends the last chunk and the empty trailer section.
func AppendLastChunk(dst []byte) []byte { return append(dst, "0\r\n\r\n"...) }

const (
	dayNames   = "SunMonTueWedThuFriSat"
	monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"
)

// AppendHTTPDate appends t as an IMF-fixdate ("Mon, 02 Jan 2006 15:04:05
// GMT", RFC 9110 §5.6.7), the format of the Date header.
func AppendHTTPDate(dst []byte, t time.Time) []byte {
	t = t.UTC()
	yy, mm, dd := t.Date()
	hh, mi, ss := t.Clock()
	wd := int(t.Weekday()) * 3
	mo := (int(mm) - 1) * 3
	return append(dst,
		dayNames[wd], dayNames[wd+1], dayNames[wd+2], ',', ' ',
		byte('0'+dd/10), byte('0'+dd%10), ' ',
		monthNames[mo], monthNames[mo+1], monthNames[mo+2], ' ',
		byte('0'+yy/1000%10), byte('0'+yy/100%10), byte('0'+yy/10%10), byte('0'+yy%10), ' ',
		byte('0'+hh/10), byte('0'+hh%10), ':',
		byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+ss/10), byte('0'+ss%10), ' ', 'G', 'M', 'T')
}

// StatusText returns the standard reason phrase of code (the same texts as
// Go's net/http), or "" for a code without one.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 102:
		return "Processing"
	case 103:
		return "Early Hints"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 203:
		return "Non-Authoritative Information"
	case 204:
		return "No Content"
	case 205:
		return "Reset Content"
	case 206:
		return "Partial Content"
	case 207:
		return "Multi-Status"
	case 208:
		return "Already Reported"
	case 226:
		return "IM Used"
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 305:
		return "Use Proxy"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 402:
		return "Payment Required"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Request Entity Too Large"
	case 414:
		return "Request URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Requested Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 418:
		return "I'm a teapot"
	case 421:
		return "Misdirected Request"
	case 422:
		return "Unprocessable Entity"
	case 423:
		return "Locked"
	case 424:
		return "Failed Dependency"
	case 425:
		return "Too Early"
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 451:
		return "Unavailable For Legal Reasons"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	case 506:
		return "Variant Also Negotiates"
	case 507:
		return "Insufficient Storage"
	case 508:
		return "Loop Detected"
	case 510:
		return "Not Extended"
	case 511:
		return "Network Authentication Required"
	}
	return ""
}
