package internalrpc

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
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
// answer and the answer's body. An error is the RPC's (its gRPC status
// tells a refusal, PermissionDenied, from a transport failure).
func (c *Client) CallLocal(ctx context.Context, addr string, req *internalpb.InternalInvokeRequest, body []byte) (*internalpb.InternalInvokeResponse, []byte, error) {
	cc, err := c.conn(addr)
	if err != nil {
		return nil, nil, err
	}
	if req.Message == nil {
		req.Message = &internalpb.InvokeRequest{}
	}
	req.Message.Data = &anypb.Any{Value: body}
	resp, err := internalpb.NewServiceInvocationClient(cc).CallLocal(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	var rbody []byte
	if d := resp.GetMessage().GetData(); d != nil {
		rbody = d.GetValue()
	}
	return resp, rbody, nil
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
