package http1

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestErrorResponsesMatchNetHTTP sends malformed heads to a real net/http
// server (what daprd runs) and checks that Parse refuses them with the same
// status and that AppendErrorResponse produces the same bytes (Date aside).
func TestErrorResponsesMatchNetHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:        http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		MaxHeaderBytes: 1, // Go adds 4096 of slack
		ErrorLog:       nil,
	}
	go srv.Serve(ln)
	defer srv.Close()
	const goLimit = 1 + 4096

	cases := []struct {
		name, in string
		status   int
	}{
		{"missing host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"bad host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"bad request line", "GET / HTTX/1.1\r\nHost: h\r\n\r\n", 400},
		{"space in name", "GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n", 400},
		{"bad name byte", "GET / HTTP/1.1\r\nHost: h\r\nX(a): v\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400},
		{"leading space", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400},
		{"repeated host", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
		{"conflicting length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
		{"bad escape", "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"bad method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"version", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
		{"te gzip", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"expect", "GET / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n", 417},
		{"too large", "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("v", 5000) + "\r\n\r\n", 431},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r Request
			_, perr := r.Parse([]byte(c.in), goLimit)
			if statusOf(perr) != c.status {
				t.Fatalf("Parse: %v, want status %d", perr, c.status)
			}
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			go conn.Write([]byte(c.in))
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			got, _ := io.ReadAll(conn)
			want := stripDate(got)
			ours := stripDate(AppendErrorResponse(nil, perr, time.Now()))
			if !bytes.Equal(ours, want) {
				t.Fatalf("net/http sent\n%q\nwe would send\n%q", want, ours)
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), nil)
			if err != nil || resp.StatusCode != c.status {
				t.Fatalf("net/http status: %v %v", resp, err)
			}
		})
	}
}

func stripDate(b []byte) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(b, []byte("\r\n")) {
		if !bytes.HasPrefix(line, []byte("Date: ")) {
			out = append(out, line...)
		}
	}
	return out
}
