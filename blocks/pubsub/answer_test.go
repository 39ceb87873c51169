package pubsub

import (
	"io"
	"net"
	"testing"
)

// TestAnswerReader: the pipe's reader frames the app's answers as net/http
// would: Content-Length (split across reads), chunked, 1xx skipped, no
// body for 204, keep-alive and Connection: close, body until close.
func TestAnswerReader(t *testing.T) {
	stream := "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"status\":\"SUCCESS\"}" +
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"sta\r\n10\r\ntus\":\"RETRY\"}   \r\n0\r\n\r\n" +
		"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found" +
		"HTTP/1.0 500 Oops\r\n\r\nbody until close"
	want := []struct {
		status int
		body   string
		keep   bool
	}{
		{200, `{"status":"SUCCESS"}`, true},
		{204, "", true},
		{200, `{"status":"RETRY"}   `, true},
		{404, "not found", false},
		{500, "body until close", false},
	}
	for _, step := range []int{1, 3, 7, len(stream)} {
		app, side := net.Pipe()
		go func() {
			for i := 0; i < len(stream); i += step {
				if _, err := app.Write([]byte(stream[i:min(i+step, len(stream))])); err != nil {
					return
				}
			}
			app.Close()
		}()
		ar := answerReader{c: side, buf: make([]byte, 32)}
		for i, w := range want {
			st, body, keep, err := ar.next()
			if err != nil || st != w.status || string(body) != w.body || keep != w.keep {
				t.Fatalf("step %d answer %d: %d %q keep=%v err=%v, want %d %q keep=%v", step, i, st, body, keep, err, w.status, w.body, w.keep)
			}
		}
		if _, _, _, err := ar.next(); err == nil {
			t.Fatalf("step %d: an answer after the end", step)
		}
		side.Close()
	}
}

// TestAnswerReaderRefusesGarbage: a malformed answer fails the connection
// (the pending deliveries are redelivered) rather than being guessed at.
func TestAnswerReaderRefusesGarbage(t *testing.T) {
	for _, s := range []string{
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
	} {
		app, side := net.Pipe()
		go func() { app.Write([]byte(s)); app.Close() }()
		ar := answerReader{c: side, buf: make([]byte, 16<<10)}
		if st, body, _, err := ar.next(); err == nil {
			t.Errorf("%q: got %d %q, want an error", s, st, body)
		}
		side.Close()
	}
}

// chunkReader returns its bytes a few at a time, as a socket may.
type chunkReader struct {
	b    []byte
	step int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// FuzzAnswerReader: any byte stream from the app yields well-formed
// answers or an error, never a panic, a hang or a body over the limit; how
// the bytes are split across reads does not change the answers.
func FuzzAnswerReader(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{\"status\":\"SUCCESS\"}HTTP/1.1 204 No Content\r\n\r\n"), uint8(3))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nDROP\r\n0\r\n\r\n"), uint8(1))
	f.Add([]byte("HTTP/1.0 500 x\r\n\r\nuntil close"), uint8(7))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		type answer struct {
			status int
			body   string
			keep   bool
		}
		read := func(step int) (out []answer, err error) {
			ar := answerReader{c: &chunkReader{b: b, step: step}, buf: make([]byte, 64)}
			for {
				st, body, keep, err := ar.next()
				if err != nil {
					return out, err
				}
				if st < 200 || st > 999 || len(body) > maxAnswerBody {
					t.Fatalf("answer %d with %d body bytes", st, len(body))
				}
				out = append(out, answer{st, string(body), keep})
				if !keep {
					return out, nil
				}
			}
		}
		a, errA := read(int(step%16) + 1)
		w, errW := read(len(b) + 1)
		if len(a) != len(w) || (errA == nil) != (errW == nil) {
			t.Fatalf("split reads: %v (%v), whole: %v (%v)", a, errA, w, errW)
		}
		for i := range a {
			if a[i] != w[i] {
				t.Fatalf("answer %d: split %v, whole %v", i, a[i], w[i])
			}
		}
	})
}
