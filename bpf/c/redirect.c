// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//
// skiff's loopback shortcut. skiff_sockops (cgroup sock_ops) puts every
// established loopback TCP socket one of whose ends is a port skiffd owns
// (skiff_ports, filled by skiffd) into skiff_socks, keyed by its 4-tuple.
// skiff_msg (sk_msg verdict on skiff_socks) hands each sendmsg on such a
// socket straight to the peer socket's receive queue (BPF_F_INGRESS), which
// skips the TCP/IP stack and the loopback device. A message whose peer is not
// in the map goes on over TCP (SK_PASS), never fails.
//
// Every address is kept as 16 bytes, IPv4 as IPv4-mapped IPv6
// (::ffff:a.b.c.d): an AF_INET6 socket talking to ::ffff:127.0.0.1 and its
// AF_INET peer then build the same key.
//
// The GPL-compatible license string is required: bpf_msg_redirect_hash and
// bpf_sock_hash_update are GPL-only helpers.

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10

struct sock_key {
	__u32 local[4];  // network order
	__u32 remote[4]; // network order
	__u32 local_port;  // host order
	__u32 remote_port; // host order
};

struct counters {
	__u64 redirected_msgs;
	__u64 redirected_bytes;
	__u64 misses;
	__u64 sockets; // sockets put into skiff_socks
};

// Ports skiffd owns, in host order. Value unused (1).
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} skiff_ports SEC(".maps");

// The value is the socket; user space reads it back as an 8-byte cookie, so
// the value size must be 8 (4 would do for updates from BPF but not for
// lookups from Go).
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, struct sock_key);
	__type(value, __u64);
} skiff_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} skiff_stats SEC(".maps");

// Verifier: clang merges the last context load of the IPv4 and IPv6
// branches into one load through a computed pointer (ctx + 24 or ctx + 56),
// and the verifier rejects a context access through a modified pointer
// ("dereference of modified ctx ptr"). A compiler barrier at the end of each
// branch keeps every context load at its fixed offset.
#define ctx_barrier() asm volatile("" ::: "memory")

static __always_inline int is_loopback(const __u32 a[4])
{
	// ::1
	if (a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1))
		return 1;
	// ::ffff:127.0.0.0/8
	if (a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff) &&
	    (bpf_ntohl(a[3]) >> 24) == 127)
		return 1;
	return 0;
}

static __always_inline int owned(__u32 port)
{
	return bpf_map_lookup_elem(&skiff_ports, &port) != 0;
}

static __always_inline struct counters *stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&skiff_stats, &zero);
}

SEC("sockops")
int skiff_sockops(struct bpf_sock_ops *ops)
{
	struct sock_key key = {};
	__u32 op = ops->op;
	__u32 family = ops->family;

	if (op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;

	if (family == AF_INET) {
		key.local[2] = bpf_htonl(0xffff);
		key.local[3] = ops->local_ip4;
		key.remote[2] = bpf_htonl(0xffff);
		key.remote[3] = ops->remote_ip4;
		ctx_barrier();
	} else if (family == AF_INET6) {
		// Verifier: the context only allows fixed-offset 4-byte loads
		// of remote_ip6/local_ip6, so each word is read by name; a
		// loop over an index would be rejected as a variable offset.
		key.local[0] = ops->local_ip6[0];
		key.local[1] = ops->local_ip6[1];
		key.local[2] = ops->local_ip6[2];
		key.local[3] = ops->local_ip6[3];
		key.remote[0] = ops->remote_ip6[0];
		key.remote[1] = ops->remote_ip6[1];
		key.remote[2] = ops->remote_ip6[2];
		key.remote[3] = ops->remote_ip6[3];
		ctx_barrier();
	} else {
		return 1;
	}
	if (!is_loopback(key.local) || !is_loopback(key.remote))
		return 1;

	// remote_port holds the network-order port in its upper 16 bits on
	// little-endian hosts (the kernel shifts it there); bpf_ntohl brings
	// it down to host order.
	key.local_port = ops->local_port;
	key.remote_port = bpf_ntohl(ops->remote_port) & 0xffff;
	if (!owned(key.local_port) && !owned(key.remote_port))
		return 1;

	// BPF_NOEXIST: a 4-tuple is unique while the socket lives; a failure
	// (map full, socket already owned by another sk_msg program) just
	// leaves this socket on TCP.
	if (bpf_sock_hash_update(ops, &skiff_socks, &key, BPF_NOEXIST) == 0) {
		struct counters *c = stats();
		// Verifier: a map lookup may return NULL; it must be checked
		// before the dereference even though key 0 always exists.
		if (c)
			c->sockets++;
	}
	return 1;
}

SEC("sk_msg")
int skiff_msg(struct sk_msg_md *msg)
{
	struct sock_key peer = {};
	__u32 family = msg->family;
	__u32 size = msg->size;
	struct counters *c;

	// The peer's key is ours mirrored: its local end is our remote end.
	if (family == AF_INET) {
		peer.local[2] = bpf_htonl(0xffff);
		peer.local[3] = msg->remote_ip4;
		peer.remote[2] = bpf_htonl(0xffff);
		peer.remote[3] = msg->local_ip4;
		ctx_barrier();
	} else if (family == AF_INET6) {
		// Verifier: fixed-offset loads only, as in skiff_sockops.
		peer.local[0] = msg->remote_ip6[0];
		peer.local[1] = msg->remote_ip6[1];
		peer.local[2] = msg->remote_ip6[2];
		peer.local[3] = msg->remote_ip6[3];
		peer.remote[0] = msg->local_ip6[0];
		peer.remote[1] = msg->local_ip6[1];
		peer.remote[2] = msg->local_ip6[2];
		peer.remote[3] = msg->local_ip6[3];
		ctx_barrier();
	} else {
		return SK_PASS;
	}
	peer.local_port = bpf_ntohl(msg->remote_port) & 0xffff;
	peer.remote_port = msg->local_port;

	// skiffd empties skiff_ports to detach: from then on nothing more is
	// redirected, while every socket stays in the map so that a receiver
	// still reads the data already handed to it before what now comes
	// over TCP (taking a socket out of the map drops its queue of
	// redirected data; see Redirect.Close).
	if (!owned(peer.local_port) && !owned(peer.remote_port))
		return SK_PASS;

	c = stats();
	// bpf_msg_redirect_hash answers SK_DROP when the peer is not in the
	// map, and SK_DROP makes the writer's sendmsg fail with EACCES. A miss
	// must fall back to TCP instead, so its verdict is replaced by SK_PASS.
	if (bpf_msg_redirect_hash(msg, &skiff_socks, &peer, BPF_F_INGRESS) != SK_PASS) {
		if (c)
			c->misses++;
		return SK_PASS;
	}
	if (c) {
		c->redirected_msgs++;
		c->redirected_bytes += size;
	}
	return SK_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
