package redis

import (
	"context"
	"strings"
	"testing"

	"github.com/skiffd/skiff/blocks/bindings"
)

func TestTTL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
		err  string
	}{
		{"", 0, false, ""},
		{"10", 10, true, ""},
		{"0", 0, false, "must be higher than zero"},
		{"-3", 0, false, "must be higher than zero"},
		{"1.5", 0, false, "must be a valid integer"},
		{"x", 0, false, "must be a valid integer: actual is 'x'"},
	} {
		n, ok, err := ttl(map[string]string{"ttlInSeconds": c.in})
		if n != c.want || ok != c.ok || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ttl(%q) = %d, %v, %v", c.in, n, ok, err)
		}
	}
}

// A request refused for its metadata fails before Redis is needed.
func TestRefusedBeforeConnecting(t *testing.T) {
	b, err := New(map[string]string{"redisHost": "127.0.0.1:1", "dialTimeout": "100ms"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, req := range []*bindings.InvokeRequest{
		{Operation: "create", Metadata: map[string]string{}},
		{Operation: "create", Metadata: map[string]string{"key": "k", "ttlInSeconds": "no"}},
	} {
		if _, err := b.Invoke(context.Background(), req); err == nil || strings.Contains(err.Error(), "not connected") {
			t.Errorf("%v: %v", req.Metadata, err)
		}
	}
}

func FuzzTTL(f *testing.F) {
	for _, s := range []string{"", "1", "0", "-1", "9223372036854775807", "1e3", " 5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok, err := ttl(map[string]string{"ttlInSeconds": s})
		if err == nil && ok && n <= 0 {
			t.Fatalf("ttl(%q) accepted %d", s, n)
		}
		if err != nil && ok {
			t.Fatal("error with ok")
		}
	})
}

func TestRedisPort(t *testing.T) {
	for _, c := range []struct{ host, port, want, err string }{
		{"h", "7000", "h:7000", ""},
		{"h:7000", "7000", "h:7000", ""},
		{"h:7000", "7001", "", "disagree"},
		{"::1", "7000", "[::1]:7000", ""},
		{"h", "x", "", "want a port number"},
		{"h:6379", "", "h:6379", ""},
		{"h", "", "h:6379", ""},
	} {
		md, err := withPort(map[string]string{"redisHost": c.host, "redisPort": c.port})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s %s: %v", c.host, c.port, err)
			}
			continue
		}
		if err != nil || md["redisHost"] != c.want {
			t.Errorf("%s %s: %v %v", c.host, c.port, md, err)
		}
	}
}
