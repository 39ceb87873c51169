package http1

import (
	"net/http"
	"testing"
	"time"
)

func TestStatusText(t *testing.T) {
	for code := 0; code < 1000; code++ {
		if got, want := StatusText(code), http.StatusText(code); got != want {
			t.Errorf("%d: %q want %q", code, got, want)
		}
	}
}

func TestAppendStatusLine(t *testing.T) {
	for _, c := range []struct {
		minor, status int
		want          string
	}{
		{1, 200, "HTTP/1.1 200 OK\r\n"},
		{1, 204, "HTTP/1.1 204 No Content\r\n"},
		{0, 404, "HTTP/1.0 404 Not Found\r\n"},
		{1, 431, "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
		{1, 599, "HTTP/1.1 599 status code 599\r\n"},
		{1, 1000, "HTTP/1.1 1000 status code 1000\r\n"},
	} {
		if got := string(AppendStatusLine([]byte(nil), c.minor, c.status)); got != c.want {
			t.Errorf("%q want %q", got, c.want)
		}
	}
}

func TestAppendChunk(t *testing.T) {
	got := string(AppendLastChunk(AppendChunk(AppendChunk(nil, make([]byte, 26)), nil)))
	if got != "1a\r\n"+string(make([]byte, 26))+"\r\n0\r\n\r\n" {
		t.Fatalf("%q", got)
	}
}

func TestAppendHTTPDate(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999, time.FixedZone("X", 3600)),
		time.Unix(0, 0),
		time.Now(),
	} {
		want := tm.UTC().Format(http.TimeFormat)
		if got := string(AppendHTTPDate(nil, tm)); got != want {
			t.Errorf("%q want %q", got, want)
		}
	}
}

func TestEncodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("race detector allocates")
	}
	dst := make([]byte, 0, 256)
	now := time.Now()
	if a := testing.AllocsPerRun(1000, func() {
		dst = AppendStatusLine(dst[:0], 1, 200)
		dst = AppendHTTPDate(dst, now)
		dst = AppendChunk(dst, []byte("hello"))
		dst = AppendLastChunk(dst)
		_ = StatusText(503)
	}); a != 0 {
		t.Fatalf("allocates %v", a)
	}
}

func BenchmarkAppendStatusLine(b *testing.B) {
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendStatusLine(dst[:0], 1, 200)
	}
}
