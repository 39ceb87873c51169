// Package redirect owns skiff's eBPF loopback shortcut: it loads the programs
// of bpf/ (the only importer of that package), attaches the sockops program
// to the cgroup v2 root and the sk_msg program to the socket map, fills the
// map of ports skiffd owns, reports status and counters, and undoes all of it
// on Close.
//
// With the shortcut active, data written on a loopback TCP connection one of
// whose ends is an owned port skips the TCP/IP stack: the kernel moves it
// from the sender's sendmsg straight to the peer socket's receive queue.
// splice(2) cannot read such data, so nothing in skiff may splice on these
// sockets (no io.Copy or ReadFrom between two TCP connections).
//
// Nothing is pinned: the links, programs and maps live exactly as long as the
// process's file descriptors. A killed skiffd leaves nothing attached (the
// kernel drops the links with the fds and the socket map, emptying it, with
// its last reference); kernel-test/ checks that.
//
// The package holds no request buffers. Status and Counters are safe to call
// from any goroutine.
package redirect
