package invoke

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestReadUpTo(t *testing.T) {
	for _, c := range []struct {
		body     string
		limit    int64
		complete bool
	}{
		{"", 10, true}, {"abc", 3, true}, {"abcd", 3, false}, {"abc", 0, false},
	} {
		r := strings.NewReader(c.body)
		buf, complete, err := readUpTo(r, c.limit)
		if err != nil || complete != c.complete {
			t.Fatalf("%q limit %d: complete %v err %v", c.body, c.limit, complete, err)
		}
		// What was read plus the rest is always the whole body: a body too
		// large to replay is still sent whole, once.
		rest, _ := io.ReadAll(r)
		if got := string(buf) + string(rest); got != c.body {
			t.Fatalf("%q limit %d: %q", c.body, c.limit, got)
		}
		if complete && !bytes.Equal(buf, []byte(c.body)) {
			t.Fatalf("%q: buffered %q", c.body, buf)
		}
	}
}
