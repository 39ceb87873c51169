package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Header is one request header.
type Header struct{ Name, Value string }

// Request describes one HTTP request; Encode turns it into wire bytes once.
type Request struct {
	Method string // default GET
	Path   string // path and query, default "/"
	Host   string // Host header
	Header []Header
	Body   []byte
}

// Encode returns the HTTP/1.1 wire form of r. It always sends
// Content-Length for methods that may carry a body so servers need not wait
// for a close.
func (r Request) Encode() []byte {
	method := r.Method
	if method == "" {
		method = "GET"
	}
	path := r.Path
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(path)
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(r.Host)
	b.WriteString("\r\n")
	hasCT := false
	for _, h := range r.Header {
		if strings.EqualFold(h.Name, "Content-Type") {
			hasCT = true
		}
		b.WriteString(h.Name)
		b.WriteString(": ")
		b.WriteString(h.Value)
		b.WriteString("\r\n")
	}
	if len(r.Body) > 0 || (method != "GET" && method != "HEAD" && method != "DELETE" && method != "OPTIONS") {
		if len(r.Body) > 0 && !hasCT {
			b.WriteString("Content-Type: application/json\r\n")
		}
		b.WriteString("Content-Length: ")
		b.WriteString(strconv.Itoa(len(r.Body)))
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	return []byte(b.String())
}

// Target is where to connect.
type Target struct {
	Network string // "tcp" or "unix"
	Addr    string // host:port or socket path
	Host    string // for the Host header
	Path    string // path and query from the URL
}

// ParseTarget splits an http:// URL into a dial target. A non-empty unixPath
// makes the connection go to that Unix socket instead, keeping the URL's
// host for the Host header and its path for the request.
func ParseTarget(rawURL, unixPath string) (Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Target{}, fmt.Errorf("parse target: %w", err)
	}
	if u.Scheme != "http" {
		return Target{}, fmt.Errorf("parse target %q: only http:// is supported", rawURL)
	}
	if u.Host == "" {
		return Target{}, errors.New("parse target: no host")
	}
	t := Target{Network: "tcp", Addr: u.Host, Host: u.Host, Path: u.RequestURI()}
	if u.Port() == "" {
		t.Addr = u.Host + ":80"
	}
	if unixPath != "" {
		t.Network, t.Addr = "unix", unixPath
	}
	return t, nil
}

// Probe sends one request on a fresh connection and returns the answer's
// status. It is for readiness polling, not for measuring.
func Probe(t Target, req []byte, timeout time.Duration) (int, error) {
	c, err := net.DialTimeout(t.Network, t.Addr, timeout)
	if err != nil {
		return 0, fmt.Errorf("probe: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(req); err != nil {
		return 0, fmt.Errorf("probe: %w", err)
	}
	status, _, err := newClient(c).readResponse()
	if err != nil {
		return 0, fmt.Errorf("probe: %w", err)
	}
	return status, nil
}
