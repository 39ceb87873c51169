package internalrpc

import (
	"bytes"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skiffd/skiff/dataplane/internalrpc/internalpb"
)

// FuzzGather: a streamed body cut anywhere comes back whole when the
// sequence numbers count from 0; a wrong number or a body past the limit
// is refused with daprd's codes, never mangled.
func FuzzGather(f *testing.F) {
	f.Add([]byte("hello world"), []byte{3, 0, 5}, uint8(0), uint16(100))
	f.Add([]byte("abc"), []byte{1}, uint8(2), uint16(2))
	f.Fuzz(func(t *testing.T, body, cuts []byte, badAt uint8, limit uint16) {
		var msgs []*internalpb.StreamPayload
		rest := body
		for i := 0; len(rest) > 0; i++ {
			n := len(rest)
			if i < len(cuts) && int(cuts[i]) < n {
				n = int(cuts[i])
			}
			msgs = append(msgs, &internalpb.StreamPayload{Data: rest[:n], Seq: uint64(i)})
			rest = rest[n:]
		}
		bad := int(badAt) < len(msgs) && badAt%3 == 1
		if bad {
			msgs[badAt].Seq += 1 + uint64(badAt)
		}
		var first *internalpb.StreamPayload
		if len(msgs) > 0 {
			first, msgs = msgs[0], msgs[1:]
		}
		recv := func() (*internalpb.InternalInvokeRequestStream, error) {
			if len(msgs) == 0 {
				return nil, io.EOF
			}
			m := msgs[0]
			msgs = msgs[1:]
			return &internalpb.InternalInvokeRequestStream{Payload: m}, nil
		}
		got, err := gather(first, recv, int(limit))
		switch {
		case bad:
			if status.Code(err) != codes.InvalidArgument && status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("bad sequence accepted: %v", err)
			}
		case len(body) > int(limit):
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("over the limit: %v", err)
			}
		case err != nil || !bytes.Equal(got, body):
			t.Fatalf("gather: %q, %v; want %q", got, err, body)
		}
	})
}
