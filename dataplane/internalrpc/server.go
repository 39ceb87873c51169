package internalrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/skiffd/skiff/dataplane/internalrpc/internalpb"
)

// Handler serves one invocation from another sidecar: req (its
// message.data emptied) and the request body; it returns the app's answer
// and its body, or an error whose gRPC status is the RPC's (e.g.
// PermissionDenied when access control refuses the call).
type Handler func(ctx context.Context, req *internalpb.InternalInvokeRequest, body []byte) (*internalpb.InternalInvokeResponse, []byte, error)

// chunkSize is the payload size of the streamed answer, daprd's 4 KiB
// would mean many tiny messages; 64 KiB keeps them few and bounded.
const chunkSize = 64 << 10

// headroom is what a message may carry beyond its body (headers, method).
const headroom = 1 << 20

// Server serves ServiceInvocation on the internal gRPC port.
type Server struct {
	internalpb.UnimplementedServiceInvocationServer
	gs      *grpc.Server
	lis     net.Listener
	handle  Handler
	maxBody int
}

// Listen opens addr (host:port; port 0 picks a free one, as daprd does
// when --dapr-internal-grpc-port is not given). maxBody bounds a request
// or answer body (--max-body-size).
func Listen(addr string, maxBody int64, h Handler) (*Server, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("internal gRPC listen %s: %w", addr, err)
	}
	s := &Server{lis: lis, handle: h, maxBody: clampBody(maxBody)}
	s.gs = grpc.NewServer(grpc.MaxRecvMsgSize(s.maxBody+headroom), grpc.MaxSendMsgSize(s.maxBody+headroom))
	internalpb.RegisterServiceInvocationServer(s.gs, s)
	return s, nil
}

func clampBody(n int64) int {
	if n <= 0 || n > 1<<30 {
		return 1 << 30
	}
	return int(n)
}

// Port is the port listened on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.lis.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}

// Serve serves until Stop; it returns nil after Stop.
func (s *Server) Serve() error {
	if err := s.gs.Serve(s.lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("internal gRPC serve: %w", err)
	}
	return nil
}

// Stop lets calls in flight finish until ctx ends, then cuts them.
func (s *Server) Stop(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.gs.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.gs.Stop()
		<-done
	}
}

// CallLocal serves a unary invocation.
func (s *Server) CallLocal(ctx context.Context, req *internalpb.InternalInvokeRequest) (*internalpb.InternalInvokeResponse, error) {
	if req.GetMessage() == nil {
		return nil, status.Error(codes.InvalidArgument, "invalid request: message is missing")
	}
	var body []byte
	if d := req.GetMessage().GetData(); d != nil {
		body = d.GetValue()
		req.Message.Data = nil
	}
	resp, rbody, err := s.handle(ctx, req, body)
	if err != nil {
		return nil, err
	}
	if resp.Message == nil {
		resp.Message = &internalpb.InvokeResponse{}
	}
	if len(rbody) > 0 {
		resp.Message.Data = &anypb.Any{Value: rbody}
	}
	return resp, nil
}

// CallLocalStream serves a streamed invocation: the request and its
// chunks are gathered, the answer goes back in chunks.
func (s *Server) CallLocalStream(stream grpc.BidiStreamingServer[internalpb.InternalInvokeRequestStream, internalpb.InternalInvokeResponseStream]) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	req := first.GetRequest()
	if req == nil || req.GetMessage() == nil {
		return status.Error(codes.InvalidArgument, "invalid request: first message does not contain the required request")
	}
	body, err := gather(first.GetPayload(), stream.Recv, s.maxBody)
	if err != nil {
		return err
	}
	req.Message.Data = nil
	resp, rbody, err := s.handle(stream.Context(), req, body)
	if err != nil {
		return err
	}
	if resp.Message == nil {
		resp.Message = &internalpb.InvokeResponse{}
	}
	resp.Message.Data = nil
	return sendChunks(rbody, func(payload *internalpb.StreamPayload, first bool) error {
		m := &internalpb.InternalInvokeResponseStream{Payload: payload}
		if first {
			m.Response = resp
		}
		return stream.Send(m)
	})
}

// gather reads a streamed body: payload first (may be nil), then every
// later message's payload, checking the sequence as daprd does.
func gather(p *internalpb.StreamPayload, recv func() (*internalpb.InternalInvokeRequestStream, error), limit int) ([]byte, error) {
	var body []byte
	var seq uint64
	add := func(p *internalpb.StreamPayload) error {
		if p == nil {
			return nil
		}
		if p.GetSeq() != seq {
			return status.Errorf(codes.InvalidArgument, "invalid sequence number: expected %d, got %d", seq, p.GetSeq())
		}
		seq++
		if len(body)+len(p.GetData()) > limit {
			return status.Errorf(codes.ResourceExhausted, "request body larger than %d bytes", limit)
		}
		body = append(body, p.GetData()...)
		return nil
	}
	if err := add(p); err != nil {
		return nil, err
	}
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			return body, nil
		}
		if err != nil {
			return nil, err
		}
		if m.GetRequest() != nil {
			return nil, status.Error(codes.InvalidArgument, "invalid request: only the first message may contain the request")
		}
		if err := add(m.GetPayload()); err != nil {
			return nil, err
		}
	}
}

// sendChunks sends body in chunks of chunkSize with their sequence
// numbers; the first call (first true) also carries the head, and is made
// even for an empty body, without a payload.
func sendChunks(body []byte, send func(p *internalpb.StreamPayload, first bool) error) error {
	if len(body) == 0 {
		return send(nil, true)
	}
	for seq := uint64(0); len(body) > 0; seq++ {
		n := min(len(body), chunkSize)
		if err := send(&internalpb.StreamPayload{Data: body[:n], Seq: seq}, seq == 0); err != nil {
			return err
		}
		body = body[n:]
	}
	return nil
}
