package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/skiffd/skiff/blocks/acl"
	"github.com/skiffd/skiff/blocks/invoke"
	"github.com/skiffd/skiff/blocks/resiliency"
	"github.com/skiffd/skiff/blocks/resources"
	"github.com/skiffd/skiff/dataplane/internalrpc"
	"github.com/skiffd/skiff/dataplane/metrics"
	"github.com/skiffd/skiff/dataplane/nameresolution"
	"github.com/skiffd/skiff/dataplane/nameresolution/mdns"
)

// remoteState is service invocation between sidecars, as daprd runs it in
// standalone mode: the internal gRPC server (--dapr-internal-grpc-port,
// a free port when not given) for calls from other sidecars, the name
// resolver (Configuration spec.nameResolution; mDNS by default) that
// announces us and finds the others, and the client that calls them.
type remoteState struct {
	remote   *invoke.Remote
	resolver *mdns.Resolver
	client   *internalrpc.Client
	srv      *internalrpc.Server
	port     string
	hostIP   string
	maxBody  int64
	log      *slog.Logger
}

// newRemote checks the name resolution configuration and builds the
// caller's half; bind adds the server once the invocation block exists.
func newRemote(o *options, conf *resources.Configuration, list *acl.List, res *resiliency.Resiliency, m *metrics.Metrics, maxBody int64, log *slog.Logger) (*remoteState, error) {
	comp, _ := conf.Spec.NameResolution["component"].(string)
	switch strings.ToLower(comp) {
	case "", "mdns":
	default:
		return nil, fmt.Errorf("name resolution component %q is not supported by skiffd (mdns is)", comp)
	}
	port := o.daprInternalGRPCPort
	if port == "" {
		port = "0"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return nil, fmt.Errorf("--dapr-internal-grpc-port %q: not a port", o.daprInternalGRPCPort)
	}
	hostIP, err := nameresolution.HostAddress()
	if err != nil {
		log.Warn("cannot find the host address to announce; using 127.0.0.1 (set " + nameresolution.HostIPEnv + ")")
		hostIP = "127.0.0.1"
	}
	host, _ := os.Hostname()
	rs := &remoteState{port: port, hostIP: hostIP, maxBody: maxBody, log: log, resolver: mdns.New(), client: internalrpc.NewClient(maxBody)}
	rs.remote = &invoke.Remote{
		Resolver:    rs.resolver,
		Client:      rs.client,
		Policy:      res.App,
		BuiltIn:     res.BuiltIn(resiliency.BuiltInServiceRetries),
		Metrics:     m.ServiceInvocation,
		ACL:         list,
		HostAddress: hostIP,
		HostName:    host,
	}
	return rs, nil
}

// bind opens the internal gRPC port for inv's calls from other sidecars.
func (rs *remoteState) bind(inv *invoke.Service) error {
	srv, err := internalrpc.Listen(":"+rs.port, rs.maxBody, inv.CallLocal())
	if err != nil {
		return err
	}
	rs.srv = srv
	return nil
}

// start serves the internal port and announces our app id on it. An
// announcement that fails (no multicast here) is logged: our own app and
// outgoing calls still work.
func (rs *remoteState) start(appID string, errc chan<- error) {
	go func() {
		if err := rs.srv.Serve(); err != nil {
			errc <- err
		}
	}()
	rs.log.Info("internal gRPC server listening", "port", rs.srv.Port())
	if appID == "" {
		return
	}
	if err := rs.resolver.Announce(appID, rs.hostIP, rs.srv.Port()); err != nil {
		rs.log.Warn("mDNS: cannot announce this app; other sidecars will not find it: " + err.Error())
		return
	}
	rs.log.Info(fmt.Sprintf("local service entry announced: %s -> %s:%d", appID, rs.hostIP, rs.srv.Port()))
}

// stop withdraws the announcement, lets calls in flight end until ctx
// ends, and closes outgoing connections.
func (rs *remoteState) stop(ctx context.Context) {
	_ = rs.resolver.Close()
	if rs.srv != nil {
		rs.srv.Stop(ctx)
	}
	rs.client.Close()
}
