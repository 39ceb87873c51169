package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	"github.com/skiffd/skiff/blocks/bindings"
	"github.com/skiffd/skiff/blocks/internal/redisconn"
)

// OpIncrement is daprd's redis binding "increment" operation.
const OpIncrement = "increment"

// Binding is one bindings.redis component.
type Binding struct {
	conn *redisconn.Conn
}

// New parses the metadata and starts connecting in the background.
func New(md map[string]string, log *slog.Logger) (*Binding, error) {
	md, err := withPort(md)
	if err != nil {
		return nil, err
	}
	opt, err := redisconn.Parse(md, "redis binding")
	if err != nil {
		return nil, err
	}
	return &Binding{conn: redisconn.New(opt, "redis binding", log, nil)}, nil
}

// withPort applies Dapr's redisPort: the port of a redisHost given
// without one (6379 when neither says); a redisHost with a port must
// agree with it.
func withPort(md map[string]string) (map[string]string, error) {
	port, _ := bindings.Lookup(md, "redisPort")
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("redis binding: redisPort %q: want a port number", port)
		}
	}
	host, _ := bindings.Lookup(md, "redisHost")
	if host == "" || strings.Contains(host, ",") {
		return md, nil // the empty or multi-host case is Parse's to judge
	}
	_, p, err := net.SplitHostPort(host)
	if err == nil {
		if port != "" && p != port {
			return nil, fmt.Errorf("redis binding: redisHost %q and redisPort %q disagree", host, port)
		}
		return md, nil
	}
	if port == "" {
		port = "6379"
	}
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	out := make(map[string]string, len(md))
	for k, v := range md {
		if !strings.EqualFold(k, "redisHost") {
			out[k] = v
		}
	}
	out["redisHost"] = net.JoinHostPort(h, port)
	return out, nil
}

// Operations are daprd's: create, delete, get, increment.
func (b *Binding) Operations() []string {
	return []string{bindings.OpCreate, bindings.OpDelete, bindings.OpGet, OpIncrement}
}

// Ready is nil once Redis answered, else why not (healthz).
func (b *Binding) Ready() error { return b.conn.Ready() }

// ttl is Dapr's metadata.TryGetTTL over the request metadata.
func ttl(md map[string]string) (int64, bool, error) {
	v := md["ttlInSeconds"]
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("ttlInSeconds value must be a valid integer: actual is '%s'", v)
	}
	if n <= 0 {
		return 0, false, fmt.Errorf("ttlInSeconds value must be higher than zero: actual is %d", n)
	}
	return n, true, nil
}

// Invoke runs one operation.
func (b *Binding) Invoke(ctx context.Context, req *bindings.InvokeRequest) (*bindings.InvokeResponse, error) {
	key := req.Metadata["key"]
	if key == "" {
		return nil, errors.New("redis binding: missing key in request metadata")
	}
	secs, hasTTL, err := int64(0), false, error(nil)
	if req.Operation == bindings.OpCreate || req.Operation == OpIncrement {
		if secs, hasTTL, err = ttl(req.Metadata); err != nil {
			return nil, err
		}
	}
	c, err := b.conn.Client(ctx)
	if err != nil {
		return nil, err
	}
	switch req.Operation {
	case bindings.OpDelete:
		return nil, c.Do(ctx, c.B().Del().Key(key).Build()).Error()
	case bindings.OpGet:
		var cmd rueidis.Completed
		if req.Metadata["delete"] == "true" {
			cmd = c.B().Getdel().Key(key).Build()
		} else {
			cmd = c.B().Get().Key(key).Build()
		}
		v, err := c.Do(ctx, cmd).AsBytes()
		if rueidis.IsRedisNil(err) {
			return &bindings.InvokeResponse{}, nil
		}
		if err != nil {
			return nil, err
		}
		return &bindings.InvokeResponse{Data: v}, nil
	case bindings.OpCreate:
		val := rueidis.BinaryString(req.Data)
		if hasTTL {
			return nil, c.Do(ctx, c.B().Set().Key(key).Value(val).ExSeconds(secs).Build()).Error()
		}
		return nil, c.Do(ctx, c.B().Set().Key(key).Value(val).Build()).Error()
	case OpIncrement:
		if err := c.Do(ctx, c.B().Incr().Key(key).Build()).Error(); err != nil {
			return nil, err
		}
		if hasTTL {
			return nil, c.Do(ctx, c.B().Expire().Key(key).Seconds(secs).Build()).Error()
		}
		return nil, nil
	}
	return nil, fmt.Errorf("invalid operation type: %s", req.Operation)
}

// Close closes the connection.
func (b *Binding) Close() error { return b.conn.Close() }
