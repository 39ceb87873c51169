package internalrpc

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/skiffd/skiff/dataplane/internalrpc/internalpb"
)

// echo answers with the method as a header, status 201 and the body
// reversed; method "deny" is refused as access control refuses.
func echo(_ context.Context, req *internalpb.InternalInvokeRequest, body []byte) (*internalpb.InternalInvokeResponse, []byte, error) {
	m := req.GetMessage()
	if m.GetMethod() == "deny" {
		return nil, nil, status.Error(codes.PermissionDenied, "access control policy has denied access")
	}
	out := make([]byte, len(body))
	for i, b := range body {
		out[len(body)-1-i] = b
	}
	return &internalpb.InternalInvokeResponse{
		Status: &internalpb.Status{Code: 201},
		Headers: map[string]*internalpb.ListStringValue{
			"x-method": {Values: []string{m.GetMethod()}},
			"x-verb":   {Values: []string{m.GetHttpExtension().GetVerb().String()}},
			"x-query":  {Values: []string{m.GetHttpExtension().GetQuerystring()}},
			"x-caller": req.GetMetadata()["dapr-caller-app-id"],
			"x-len":    {Values: []string{strconv.Itoa(len(body))}},
		},
		Message: &internalpb.InvokeResponse{ContentType: "text/plain"},
	}, out, nil
}

func start(t *testing.T, maxBody int64) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", maxBody, echo)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s.Stop(ctx)
	})
	return s
}

func request(method string) *internalpb.InternalInvokeRequest {
	return &internalpb.InternalInvokeRequest{
		Ver:      internalpb.APIVersion_V1,
		Metadata: map[string]*internalpb.ListStringValue{"dapr-caller-app-id": {Values: []string{"a"}}},
		Message: &internalpb.InvokeRequest{Method: method, ContentType: "text/plain",
			HttpExtension: &internalpb.HTTPExtension{Verb: internalpb.HTTPExtension_POST, Querystring: "x=1"}},
	}
}

func TestCallLocal(t *testing.T) {
	s := start(t, 1<<20)
	c := NewClient(1 << 20)
	defer c.Close()
	addr := "127.0.0.1:" + strconv.Itoa(s.Port())
	resp, body, err := c.CallLocal(context.Background(), addr, request("orders/1"), []byte("abc"))
	if err != nil {
		t.Fatal(err)
	}
	h := resp.GetHeaders()
	if resp.GetStatus().GetCode() != 201 || string(body) != "cba" || h["x-method"].Values[0] != "orders/1" ||
		h["x-verb"].Values[0] != "POST" || h["x-query"].Values[0] != "x=1" || h["x-caller"].Values[0] != "a" ||
		resp.GetMessage().GetContentType() != "text/plain" {
		t.Fatalf("%v %q", resp, body)
	}
	_, _, err = c.CallLocal(context.Background(), addr, request("deny"), nil)
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("deny: %v", err)
	}
	// Past the size limit: the transport refuses.
	_, _, err = c.CallLocal(context.Background(), addr, request("big"), make([]byte, 3<<20))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("big: %v", err)
	}
}

func TestCallLocalDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c := NewClient(1 << 20)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.CallLocal(ctx, addr, request("x"), nil); status.Code(err) != codes.Unavailable {
		t.Fatalf("down: %v", err)
	}
	c.Reset(addr)
}

// TestCallLocalStream speaks CallLocalStream as daprd does: request head
// first, body in chunks with sequence numbers.
func TestCallLocalStream(t *testing.T) {
	s := start(t, 1<<20)
	cc, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(s.Port()), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cl := internalpb.NewServiceInvocationClient(cc)
	body := bytes.Repeat([]byte("0123456789"), 20000) // 200 kB: several answer chunks
	call := func(msgs []*internalpb.InternalInvokeRequestStream) (*internalpb.InternalInvokeResponse, []byte, error) {
		st, err := cl.CallLocalStream(context.Background())
		if err != nil {
			return nil, nil, err
		}
		for _, m := range msgs {
			if err := st.Send(m); err != nil {
				return nil, nil, err
			}
		}
		_ = st.CloseSend()
		var head *internalpb.InternalInvokeResponse
		var out []byte
		var seq uint64
		for {
			m, err := st.Recv()
			if err == io.EOF {
				return head, out, nil
			}
			if err != nil {
				return nil, nil, err
			}
			if head == nil {
				head = m.GetResponse()
			} else if m.GetResponse() != nil {
				t.Fatal("response in a later message")
			}
			if p := m.GetPayload(); p != nil {
				if p.GetSeq() != seq {
					t.Fatalf("seq %d, want %d", p.GetSeq(), seq)
				}
				seq++
				out = append(out, p.GetData()...)
			}
		}
	}
	msgs := []*internalpb.InternalInvokeRequestStream{{Request: request("m"), Payload: &internalpb.StreamPayload{Data: body[:1000], Seq: 0}}}
	for i, seq := 1000, uint64(1); i < len(body); i, seq = i+50000, seq+1 {
		msgs = append(msgs, &internalpb.InternalInvokeRequestStream{Payload: &internalpb.StreamPayload{Data: body[i:min(i+50000, len(body))], Seq: seq}})
	}
	head, out, err := call(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if head.GetStatus().GetCode() != 201 || head.GetHeaders()["x-len"].Values[0] != strconv.Itoa(len(body)) || len(out) != len(body) || out[0] != body[len(body)-1] {
		t.Fatalf("%v len %d", head, len(out))
	}
	// One message, no payload: an empty body both ways.
	head, out, err = call([]*internalpb.InternalInvokeRequestStream{{Request: request("m")}})
	if err != nil || head.GetStatus().GetCode() != 201 || len(out) != 0 {
		t.Fatalf("empty: %v %v", head, err)
	}
	for name, bad := range map[string][]*internalpb.InternalInvokeRequestStream{
		"no request":    {{Payload: &internalpb.StreamPayload{Data: []byte("x")}}},
		"bad seq":       {{Request: request("m"), Payload: &internalpb.StreamPayload{Data: []byte("x"), Seq: 1}}},
		"request twice": {{Request: request("m")}, {Request: request("m")}},
	} {
		if _, _, err := call(bad); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := call([]*internalpb.InternalInvokeRequestStream{{Request: request("deny")}}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("deny: %v", err)
	}
}

// unaryOnly serves CallLocal only, as a sidecar without the stream.
type unaryOnly struct {
	internalpb.UnimplementedServiceInvocationServer
	s *Server
}

func (u unaryOnly) CallLocal(ctx context.Context, req *internalpb.InternalInvokeRequest) (*internalpb.InternalInvokeResponse, error) {
	return u.s.CallLocal(ctx, req)
}

func TestClientStreamAndFallback(t *testing.T) {
	s := start(t, 1<<20)
	c := NewClient(1 << 20)
	defer c.Close()
	body := bytes.Repeat([]byte("abcdefgh"), 40000) // 320 kB: several chunks each way
	resp, out, err := c.CallLocal(context.Background(), "127.0.0.1:"+strconv.Itoa(s.Port()), request("m"), body)
	if err != nil || resp.GetStatus().GetCode() != 201 || len(out) != len(body) || out[0] != 'h' || resp.GetHeaders()["x-len"].Values[0] != "320000" {
		t.Fatalf("stream: %v %d %v", resp, len(out), err)
	}

	// A sidecar that answers Unimplemented to the stream gets the unary call.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	internalpb.RegisterServiceInvocationServer(gs, unaryOnly{s: &Server{handle: echo, maxBody: 1 << 20}})
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	resp, out, err = c.CallLocal(context.Background(), lis.Addr().String(), request("m"), []byte("xyz"))
	if err != nil || resp.GetStatus().GetCode() != 201 || string(out) != "zyx" {
		t.Fatalf("fallback: %v %q %v", resp, out, err)
	}
}
