package sink

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

func TestSinkPipelinedAndBodies(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	s, err := Start(addr, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Three requests, one with a body holding a fake request head, in
	// awkward pieces.
	stream := "GET / HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /a HTTP/1.1\r\nContent-Length: 26\r\n\r\nGET /no HTTP/1.1\r\nX: y\r\n\r\n" +
		"GET /b HTTP/1.1\r\n\r\n"
	for i := 0; i < len(stream); i += 7 {
		c.Write([]byte(stream[i:min(i+7, len(stream))]))
		time.Sleep(time.Millisecond)
	}
	want := bytes.Repeat(Response, 3)
	got := make([]byte, len(want))
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %q", got)
	}
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, _ := c.Read(got); n != 0 {
		t.Fatalf("extra answer: %q", got[:n])
	}
}
