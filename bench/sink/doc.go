// Package sink is a trivial HTTP/1.1 server on gnet that answers every
// request with the same fixed response. It exists to measure the load
// generator's own ceiling: a server this cheap leaves the generator as the
// bottleneck.
//
// Ownership: request bytes are views into gnet's read buffer, used only
// inside OnTraffic and dropped before it returns.
package sink
