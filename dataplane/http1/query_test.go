package http1

import (
	"strings"
	"testing"
)

func TestAppendUnescape(t *testing.T) {
	cases := []struct {
		in   string
		plus bool
		want string
		ok   bool
	}{
		{"", false, "", true},
		{"plain", false, "plain", true},
		{"a%20b", false, "a b", true},
		{"%2Fx%2fy", false, "/x/y", true},
		{"a+b", false, "a+b", true},
		{"a+b", true, "a b", true},
		{"a+b%2B", true, "a b+", true},
		{"%41%62%63", false, "Abc", true},
		{"%E2%82%AC", false, "€", true},
		{"%", false, "", false},
		{"a%2", false, "", false},
		{"a%zz", false, "", false},
		{"%2G", false, "", false},
		{"%%", false, "", false},
	}
	for _, c := range cases {
		dst := []byte("pre:")
		got, ok := AppendUnescape(dst, []byte(c.in), c.plus)
		if ok != c.ok {
			t.Errorf("%q: ok=%v", c.in, ok)
			continue
		}
		want := "pre:" + c.want
		if string(got) != want {
			t.Errorf("%q plus=%v: %q want %q", c.in, c.plus, got, want)
		}
	}
}

func TestForEachQuery(t *testing.T) {
	var got []string
	ForEachQuery([]byte("a=1&b&&c=x=y&=v&metadata.ttl=10&d="), func(k, v []byte) bool {
		got = append(got, string(k)+"|"+string(v))
		return true
	})
	want := "a|1 b| c|x=y |v metadata.ttl|10 d|"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %q", strings.Join(got, " "))
	}
	n := 0
	ForEachQuery([]byte("a=1&b=2&c=3"), func(k, v []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Fatalf("stop: %d", n)
	}
	ForEachQuery(nil, func(k, v []byte) bool { t.Fatal("called"); return true })
}

func TestQueryGet(t *testing.T) {
	q := []byte("consistency=strong&key=a&key=b&flag&metadata.rawPayload=true&k=")
	for _, c := range []struct {
		key, want string
		isNil     bool
	}{
		{"consistency", "strong", false},
		{"key", "a", false},
		{"flag", "", false},
		{"k", "", false},
		{"metadata.rawPayload", "true", false},
		{"metadata", "", true},
		{"ke", "", true},
		{"absent", "", true},
		{"", "", true},
	} {
		v := QueryGet(q, c.key)
		if (v == nil) != c.isNil || string(v) != c.want {
			t.Errorf("%q: %q nil=%v", c.key, v, v == nil)
		}
	}
	if QueryGet(nil, "a") != nil {
		t.Error("nil query")
	}
}

func TestQueryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("race detector allocates")
	}
	q := []byte("consistency=strong&metadata.ttlInSeconds=10&metadata.partitionKey=p1")
	dst := make([]byte, 0, 64)
	n := 0
	fn := func(k, v []byte) bool { n++; return true }
	if a := testing.AllocsPerRun(1000, func() {
		if QueryGet(q, "metadata.partitionKey") == nil {
			t.Fatal("missing")
		}
		ForEachQuery(q, fn)
		dst, _ = AppendUnescape(dst[:0], []byte("a%20b"), true)
	}); a != 0 {
		t.Fatalf("allocates %v", a)
	}
}
