// Package nameresolution turns an app id into the address of its sidecar's
// internal gRPC port, as daprd's name resolution components do. The
// Resolver interface is what service invocation needs; mdns is daprd's
// standalone default (Configuration spec.nameResolution component "mdns").
//
// Resolvers are called off the event loop: they may block (an mDNS browse
// waits up to a second).
package nameresolution

import (
	"context"
	"net"
	"os"
)

// Resolver resolves app ids.
type Resolver interface {
	// ResolveID returns host:port of appID's internal gRPC port.
	ResolveID(ctx context.Context, appID, namespace string) (string, error)
	// Forget drops a cached address that failed, so the next call
	// resolves again (a restarted sidecar has a new port).
	Forget(appID, addr string)
	// Close withdraws our own registration and stops background work.
	Close() error
}

// HostIPEnv is daprd's variable naming the address a sidecar announces.
const HostIPEnv = "DAPR_HOST_IP"

// HostAddress is daprd's GetHostAddress: DAPR_HOST_IP, else the address
// the default route leaves from (no packet is sent), else the first
// non-loopback IPv4 address.
func HostAddress() (string, error) {
	if v := os.Getenv(HostIPEnv); v != "" {
		return v, nil
	}
	if c, err := net.Dial("udp", "8.8.8.8:80"); err == nil {
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String(), nil
		}
	}
	return "", os.ErrNotExist
}
