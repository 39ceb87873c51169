package internalrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/skiffd/skiff/dataplane/internalrpc/internalpb"
)

// Client calls other sidecars' ServiceInvocation, one kept connection per
// address (gRPC multiplexes calls on it), as daprd keeps its pool.
type Client struct {
	maxMsg int
	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
}

// NewClient returns a client whose messages carry bodies up to maxBody.
func NewClient(maxBody int64) *Client {
	return &Client{maxMsg: clampBody(maxBody) + headroom, conns: map[string]*grpc.ClientConn{}}
}

func (c *Client) conn(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc := c.conns[addr]; cc != nil {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(c.maxMsg), grpc.MaxCallSendMsgSize(c.maxMsg)))
	if err != nil {
		return nil, fmt.Errorf("internal gRPC dial %s: %w", addr, err)
	}
	c.conns[addr] = cc
	return cc, nil
}

// CallLocal sends req with body to the sidecar at addr and returns its
// answer and the answer's body. Like daprd 1.18 it uses CallLocalStream
// (body in chunks); a sidecar that does not serve it (Unimplemented) gets
// the unary CallLocal. An error is the RPC's: its gRPC status tells a
// refusal (PermissionDenied) from a transport failure (Unavailable).
func (c *Client) CallLocal(ctx context.Context, addr string, req *internalpb.InternalInvokeRequest, body []byte) (*internalpb.InternalInvokeResponse, []byte, error) {
	cc, err := c.conn(addr)
	if err != nil {
		return nil, nil, err
	}
	if req.Message == nil {
		req.Message = &internalpb.InvokeRequest{}
	}
	cl := internalpb.NewServiceInvocationClient(cc)
	resp, rbody, err := c.callStream(ctx, cl, req, body)
	if status.Code(err) != codes.Unimplemented {
		return resp, rbody, err
	}
	req.Message.Data = &anypb.Any{Value: body}
	resp, err = cl.CallLocal(ctx, req)
	req.Message.Data = nil
	if err != nil {
		return nil, nil, err
	}
	if d := resp.GetMessage().GetData(); d != nil {
		rbody = d.GetValue()
		resp.Message.Data = nil
	}
	return resp, rbody, nil
}

func (c *Client) callStream(ctx context.Context, cl internalpb.ServiceInvocationClient, req *internalpb.InternalInvokeRequest, body []byte) (*internalpb.InternalInvokeResponse, []byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream on every return
	st, err := cl.CallLocalStream(ctx)
	if err != nil {
		return nil, nil, err
	}
	req.Message.Data = nil
	err = sendChunks(body, func(p *internalpb.StreamPayload, first bool) error {
		m := &internalpb.InternalInvokeRequestStream{Payload: p}
		if first {
			m.Request = req
		}
		return st.Send(m)
	})
	// A Send error (io.EOF) means the server ended the call: its status
	// comes from Recv.
	if err == nil {
		err = st.CloseSend()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	head, err := st.Recv()
	if err != nil {
		return nil, nil, err
	}
	resp := head.GetResponse()
	if resp == nil {
		return nil, nil, status.Error(codes.Internal, "invalid response: first message does not contain the required response")
	}
	var rbody []byte
	var seq uint64
	for m := head; ; {
		if p := m.GetPayload(); p != nil {
			if p.GetSeq() != seq {
				return nil, nil, status.Errorf(codes.Internal, "invalid sequence number in response: expected %d, got %d", seq, p.GetSeq())
			}
			seq++
			if len(rbody)+len(p.GetData()) > c.maxMsg {
				return nil, nil, status.Errorf(codes.ResourceExhausted, "response body larger than %d bytes", c.maxMsg-headroom)
			}
			rbody = append(rbody, p.GetData()...)
		}
		if m, err = st.Recv(); errors.Is(err, io.EOF) {
			return resp, rbody, nil
		} else if err != nil {
			return nil, nil, err
		}
		if m.GetResponse() != nil {
			return nil, nil, status.Error(codes.Internal, "invalid response: only the first message may contain the response")
		}
	}
}

// Reset drops the connection to addr, so the next call dials again (daprd
// recreates a connection after Unavailable).
func (c *Client) Reset(addr string) {
	c.mu.Lock()
	cc := c.conns[addr]
	delete(c.conns, addr)
	c.mu.Unlock()
	if cc != nil {
		_ = cc.Close()
	}
}

// Close closes every connection.
func (c *Client) Close() {
	c.mu.Lock()
	conns := c.conns
	c.conns = map[string]*grpc.ClientConn{}
	c.mu.Unlock()
	for _, cc := range conns {
		_ = cc.Close()
	}
}
