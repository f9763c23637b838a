// SPDX-License-Identifier: GPL-2.0
/* mlb.bpf.c - pick an uplink for every new socket.
 *
 * Attached at cgroup/sock_create: runs once per new AF_INET or AF_INET6
 * socket of every process in the cgroup subtree, before the socket is
 * used, so the route lookup at connect()/sendmsg() already follows the
 * chosen uplink's table (its fwmark rule) and the source address with it.  The mark stays
 * with the socket for life: no per-packet work, no conntrack.
 *
 * O(1) per socket: one counter increment and one slot-table index.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "mlb.h"

#define AF_INET 2
#define AF_INET6 10
#define SOL_SOCKET 1
#define SO_MARK 36

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mlb_config);
} settings SEC(".maps");

/* Two tables: userspace rewrites the idle one, then flips
 * settings.active_table, so the program never sees a half-written table. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct mlb_slot_table);
} slots SEC(".maps");

/* One cursor shared by all CPUs: exact round-robin.  MLB_CURSOR_PERCPU
 * (bench/scale.sh's comparison build only, never the product's) gives
 * each CPU a cursor of its own instead. */
struct {
#ifdef MLB_CURSOR_PERCPU
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
#else
	__uint(type, BPF_MAP_TYPE_ARRAY);
#endif
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mlb_cursor);
} cursor SEC(".maps");

/* Sockets assigned per uplink; per CPU so counting never contends. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MLB_MAX_UPLINKS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mlb_sk_choice);
} sk_uplink SEC(".maps");

/* The attachment's record (struct mlb_state), kept for userspace only: it
 * lives as long as the pins, so status and detach can read it later.  The
 * program never reads it; its size is fixed by the loader before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 8);
} state SEC(".maps");

/* Each uplink's health as `watch` last saw it (struct mlb_health), also
 * for userspace only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MLB_MAX_UPLINKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 8);
} health SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MLB_MAX_DEST_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mlb_dest_key);
	__type(value, struct mlb_dest_rule);
} dest_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MLB_MAX_STICKY);
	__type(key, struct mlb_addr);
	__type(value, struct mlb_sticky);
} sticky SEC(".maps");

/* Leave alone what is not ours to decide: sockets someone already marked
 * (a nearer cgroup's program, or another tool) and sockets that are
 * neither IPv4 nor IPv6 (sock_create also runs for packet sockets). */
static __always_inline bool socket_is_ours(const struct bpf_sock *sk)
{
	return sk->mark == 0 &&
	       (sk->family == AF_INET || sk->family == AF_INET6);
}

/* The uplink index for the next socket, or -1 when no table is live. */
static __always_inline int next_uplink(const struct mlb_config *cfg)
{
	__u32 zero = 0, table_id = cfg->active_table & 1;
	struct mlb_slot_table *table;
	struct mlb_cursor *cur;
	__u64 n;
	__u32 len, slot, uplink;

	table = bpf_map_lookup_elem(&slots, &table_id);
	cur = bpf_map_lookup_elem(&cursor, &zero);
	if (!table || !cur)
		return -1;
	len = table->len;
	if (len == 0 || len > MLB_MAX_SLOTS)
		return -1;
#ifdef MLB_CURSOR_PERCPU
	n = cur->next++;
#else
	n = __sync_fetch_and_add(&cur->next, 1);
#endif
	slot = n % len;
	/* The verifier does not follow the modulo's bound; the mask (which
	 * the compiler would drop as redundant without the barrier) gives it
	 * one. */
	barrier_var(slot);
	uplink = table->uplink[slot & (MLB_MAX_SLOTS - 1)];
	if (uplink >= cfg->nuplinks || uplink >= MLB_MAX_UPLINKS)
		return -1;
	return uplink;
}

static __always_inline void count_socket(__u32 uplink)
{
	__u64 *count = bpf_map_lookup_elem(&counters, &uplink);

	if (count)
		*count += 1;
}

static __always_inline void remember_choice(struct bpf_sock *sk, __u32 uplink,
					    __u32 mark)
{
	struct mlb_sk_choice *choice;

	choice = bpf_sk_storage_get(&sk_uplink, sk, 0,
				    BPF_SK_STORAGE_GET_F_CREATE);
	if (choice) {
		choice->uplink = uplink;
		choice->mark = mark;
	}
}

SEC("cgroup/sock_create")
int mlb_sock_create(struct bpf_sock *sk)
{
	struct mlb_config *cfg;
	__u32 zero = 0, mark;
	int uplink;

	if (!socket_is_ours(sk))
		return 1;
	cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg)
		return 1;
	uplink = next_uplink(cfg);
	if (uplink < 0)
		return 1;
	mark = cfg->marks[uplink & (MLB_MAX_UPLINKS - 1)];
	sk->mark = mark;
	count_socket(uplink);
	if (cfg->flags & MLB_F_RECORD_SOCKETS)
		remember_choice(sk, uplink, mark);
	return 1;	/* always allow the socket */
}

/* A mark sock_create gave (inside our mask, nothing outside it), which a
 * destination rule may change; any other mark belongs to someone else. */
static __always_inline bool mark_is_ours(const struct mlb_config *cfg,
					 __u32 mark)
{
	return (mark & cfg->mark_mask) && !(mark & ~cfg->mark_mask);
}

/* --sticky: a destination that got a new connection less than sticky_ns
 * ago gets the same uplink again (if it still takes new sockets);
 * otherwise it keeps the uplink sock_create chose, which is remembered. */
static __always_inline void stick_to_destination(struct bpf_sock_addr *ctx,
						 const struct mlb_config *cfg,
						 const struct mlb_addr *dst,
						 __u32 mark)
{
	__u64 now = bpf_ktime_get_ns();
	struct mlb_sticky *seen, fresh = { .last_ns = now };
	__u32 uplink;
	int new_mark;

	seen = bpf_map_lookup_elem(&sticky, dst);
	if (seen && now - seen->last_ns < cfg->sticky_ns) {
		uplink = seen->uplink & (MLB_MAX_UPLINKS - 1);
		if (cfg->live & (1ULL << uplink)) {
			seen->last_ns = now;
			new_mark = (int)cfg->marks[uplink];
			if ((__u32)new_mark != mark)
				bpf_setsockopt(ctx, SOL_SOCKET, SO_MARK,
					       &new_mark, sizeof(new_mark));
			return;
		}
	}
	fresh.uplink = (mark - cfg->mark_base) >> (cfg->mark_shift & 31);
	bpf_map_update_elem(&sticky, dst, &fresh, BPF_ANY);
}

/* Whether the socket was bound to a device or to an address. */
static __always_inline bool socket_is_bound(const struct bpf_sock *sk)
{
	if (sk->bound_dev_if)
		return true;
	if (sk->family == AF_INET)
		return sk->src_ip4 != 0;
	return (sk->src_ip6[0] | sk->src_ip6[1] | sk->src_ip6[2] |
		sk->src_ip6[3]) != 0;
}

/* At connect()/sendmsg() the destination is known: a bypass rule drops
 * the socket's mark (main table), a pin rule gives it that uplink's.
 * A socket bound to a device or an address loses our mark, so it leaves
 * where it was bound (the "from ADDR" rule, or the device's routes). */
static __always_inline void apply_dest_rule(struct bpf_sock_addr *ctx,
					    const struct mlb_addr *dst)
{
	struct mlb_dest_key key = { .prefixlen = 128, .addr = *dst };
	struct bpf_sock *sk = ctx->sk;
	struct mlb_dest_rule *rule;
	struct mlb_config *cfg;
	__u32 zero = 0;
	int mark;

	if (!sk)
		return;
	cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg || !mark_is_ours(cfg, sk->mark))
		return;
	if (socket_is_bound(sk)) {
		mark = 0;
	} else {
		rule = bpf_map_lookup_elem(&dest_rules, &key);
		if (!rule) {
			if (cfg->sticky_ns)
				stick_to_destination(ctx, cfg, dst, sk->mark);
			return;
		}
		mark = rule->action == MLB_DEST_PIN ?
		       (int)cfg->marks[rule->uplink & (MLB_MAX_UPLINKS - 1)] :
		       0;
	}
	bpf_setsockopt(ctx, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
}

/* An IPv4 destination, as the IPv4-mapped address the trie holds. */
static __always_inline void dest_rule4(struct bpf_sock_addr *ctx)
{
	struct mlb_addr dst = {
		.word = { 0, 0, bpf_htonl(0xffff), ctx->user_ip4 },
	};

	apply_dest_rule(ctx, &dst);
}

static __always_inline void dest_rule6(struct bpf_sock_addr *ctx)
{
	struct mlb_addr dst = {
		.word = { ctx->user_ip6[0], ctx->user_ip6[1],
			  ctx->user_ip6[2], ctx->user_ip6[3] },
	};

	apply_dest_rule(ctx, &dst);
}

SEC("cgroup/connect4")
int mlb_connect4(struct bpf_sock_addr *ctx)
{
	dest_rule4(ctx);
	return 1;
}

SEC("cgroup/sendmsg4")
int mlb_sendmsg4(struct bpf_sock_addr *ctx)
{
	dest_rule4(ctx);
	return 1;
}

SEC("cgroup/connect6")
int mlb_connect6(struct bpf_sock_addr *ctx)
{
	dest_rule6(ctx);
	return 1;
}

SEC("cgroup/sendmsg6")
int mlb_sendmsg6(struct bpf_sock_addr *ctx)
{
	dest_rule6(ctx);
	return 1;
}

/* Forwarded traffic, run on interfaces' ingress (src/tc.c attaches them).
 * Both always let the packet go on (TCX_NEXT, TC_ACT_UNSPEC: -1). */
#define TC_NEXT -1

/* A container's packet, on the host end of its veth: the mark its socket
 * got from sock_create (in the container's namespace) is scrubbed when
 * the packet crosses into the host's, so it is put back here.
 *
 * Per flow, not per packet: the first packet of a flow the container
 * starts (a TCP SYN, a connected UDP socket's first datagram) finds its
 * socket in the container's namespace with bpf_sk_lookup_tcp/udp, and the
 * mark is kept in an LRU map of flows that every later packet reads.
 * Measured against a socket lookup on every packet (the comparison build
 * MLB_TC_LOOKUP_EVERY_PACKET, scripts/measure_containers.sh): the same
 * cost for short connections (334 against 322 ns per packet), half for
 * bulk (238 against 488 ns per GSO packet).  And the map keeps the flow's
 * uplink after its socket is gone: a socket lookup finds only full
 * sockets, so an ACK sent from TIME_WAIT (to a FIN sent again) or a RST
 * sent after close() would leave by main with the source another
 * uplink's masquerade gave the flow, and a strict gateway drops them.
 *  - A flow the container did not start (it answers, a SYN-ACK) is kept
 *    with 0 and left alone: its replies follow main, as without mlb-bpf,
 *    instead of the listening socket's mark.
 *  - A packet of a flow the map does not know (evicted by LRU pressure,
 *    or older than the attachment) looks its socket up once more: a
 *    socket sock_create marked gets its mark back, one made before the
 *    attachment has none and its flow is kept with 0.
 *  - Unconnected UDP sockets are left alone: the same socket may answer
 *    requests that came in on any uplink (a DNS server).
 */
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define TCP_FLAG_ACK 0x10
#define TCP_FLAG_SYN 0x02
/* Ethernet, the longest IPv4 header, TCP's flags */
#define CONTAINER_HDR_MAX (ETH_HLEN + 60 + 14)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MLB_MAX_VETHS);
	__type(key, __u32);
	__type(value, struct mlb_veth);
} veths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MLB_MAX_FLOWS);
	__type(key, struct mlb_flow_key);
	__type(value, __u32);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MLB_MAX_VETHS * 4);
	__type(key, struct mlb_veth_count_key);
	__type(value, __u64);
} veth_counts SEC(".maps");

/* What the program needs of one packet. */
struct container_packet {
	struct mlb_flow_key key;
	struct bpf_sock_tuple tuple;	/* reversed: as the socket sees it */
	bool v6;
	__u8 tcp_flags;
};

/* Parsing returns 0 for a TCP or UDP packet, PARSE_SHORT when its headers
 * are not all in the linear part, -1 for anything else. */
#define PARSE_SHORT 1

/* The ports at l4, and TCP's flags. */
static __always_inline int parse_ports(void *l4, void *end, __u32 proto,
				       struct container_packet *p)
{
	__u8 *h = l4;

	if (proto == IPPROTO_TCP) {
		if ((void *)(h + 14) > end)
			return PARSE_SHORT;
		p->tcp_flags = h[13];
	} else if (proto == IPPROTO_UDP) {
		if ((void *)(h + 8) > end)
			return PARSE_SHORT;
	} else {
		return -1;
	}
	p->key.proto = proto;
	p->key.sport = *(__u16 *)h;
	p->key.dport = *(__u16 *)(h + 2);
	return 0;
}

static __always_inline int parse_ipv4(void *l3, void *end,
				      struct container_packet *p)
{
	struct iphdr *ip = l3;
	int ret;

	if ((void *)(ip + 1) > end)
		return PARSE_SHORT;
	if (ip->ihl < 5 || (ip->frag_off & bpf_htons(0x1fff)))
		return -1;		/* no ports past the first fragment */
	ret = parse_ports(l3 + ip->ihl * 4, end, ip->protocol, p);
	if (ret)
		return ret;
	p->key.src.word[2] = p->key.dst.word[2] = bpf_htonl(0xffff);
	p->key.src.word[3] = ip->saddr;
	p->key.dst.word[3] = ip->daddr;
	p->tuple.ipv4.saddr = ip->daddr;
	p->tuple.ipv4.daddr = ip->saddr;
	p->tuple.ipv4.sport = p->key.dport;
	p->tuple.ipv4.dport = p->key.sport;
	return 0;
}

/* Transport right after the fixed header only: a container's TCP and UDP
 * carry no extension headers. */
static __always_inline int parse_ipv6(void *l3, void *end,
				      struct container_packet *p)
{
	struct ipv6hdr *ip = l3;
	int ret;

	if ((void *)(ip + 1) > end)
		return PARSE_SHORT;
	ret = parse_ports(ip + 1, end, ip->nexthdr, p);
	if (ret)
		return ret;
	__builtin_memcpy(p->key.src.word, &ip->saddr, 16);
	__builtin_memcpy(p->key.dst.word, &ip->daddr, 16);
	__builtin_memcpy(p->tuple.ipv6.saddr, &ip->daddr, 16);
	__builtin_memcpy(p->tuple.ipv6.daddr, &ip->saddr, 16);
	p->tuple.ipv6.sport = p->key.dport;
	p->tuple.ipv6.dport = p->key.sport;
	p->v6 = true;
	return 0;
}

static __always_inline int parse_linear(struct __sk_buff *skb,
					struct container_packet *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (data + ETH_HLEN > end)
		return PARSE_SHORT;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return parse_ipv4(data + ETH_HLEN, end, p);
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data + ETH_HLEN, end, p);
	return -1;
}

/* A socket's packets have their headers in the linear part; pulling them
 * there (once, and never more than the headers) is for the rare rest. */
static __always_inline int parse_container_packet(struct __sk_buff *skb,
						  struct container_packet *p)
{
	int ret = parse_linear(skb, p);

	if (ret != PARSE_SHORT)
		return ret;
	if (bpf_skb_pull_data(skb, skb->len < CONTAINER_HDR_MAX ?
			      skb->len : CONTAINER_HDR_MAX))
		return -1;
	return parse_linear(skb, p) ? -1 : 0;
}

/* The mark sock_create gave the sending socket, 0 if it has none of ours
 * (or is an unconnected UDP socket, or cannot be found). */
static __always_inline __u32 sending_socket_mark(struct __sk_buff *skb,
						 const struct mlb_config *cfg,
						 struct container_packet *p,
						 __s32 netnsid, bool *found)
{
	struct bpf_sock *sk;
	__u32 mark = 0;

	/* the tuple's size as a constant in each branch, as the verifier
	 * wants it */
	if (p->key.proto == IPPROTO_TCP && p->v6)
		sk = bpf_sk_lookup_tcp(skb, &p->tuple, sizeof(p->tuple.ipv6),
				       (__u64)netnsid, 0);
	else if (p->key.proto == IPPROTO_TCP)
		sk = bpf_sk_lookup_tcp(skb, &p->tuple, sizeof(p->tuple.ipv4),
				       (__u64)netnsid, 0);
	else if (p->v6)
		sk = bpf_sk_lookup_udp(skb, &p->tuple, sizeof(p->tuple.ipv6),
				       (__u64)netnsid, 0);
	else
		sk = bpf_sk_lookup_udp(skb, &p->tuple, sizeof(p->tuple.ipv4),
				       (__u64)netnsid, 0);
	*found = sk != NULL;
	if (!sk)
		return 0;
	if (mark_is_ours(cfg, sk->mark) &&
	    (p->key.proto == IPPROTO_TCP || sk->dst_port))
		mark = sk->mark;
	bpf_sk_release(sk);
	return mark;
}

static __always_inline void count_container_flow(__u32 ifindex,
						 const struct mlb_config *cfg,
						 __u32 mark)
{
	struct mlb_veth_count_key key = {
		.ifindex = ifindex,
		.uplink = (mark - cfg->mark_base) >> (cfg->mark_shift & 31),
	};
	__u64 one = 1, *count;

	count = bpf_map_lookup_elem(&veth_counts, &key);
	if (count)
		*count += 1;
	else
		bpf_map_update_elem(&veth_counts, &key, &one, BPF_NOEXIST);
}

static __always_inline void put_mark(struct __sk_buff *skb,
				     const struct mlb_config *cfg, __u32 mark)
{
	skb->mark = (skb->mark & ~cfg->mark_mask) | mark;
}

#ifdef MLB_TC_LOOKUP_EVERY_PACKET
/* The comparison build: a socket lookup for every packet, no flow map. */
static __always_inline void mark_container_packet(
	struct __sk_buff *skb, const struct mlb_config *cfg,
	struct container_packet *p, __s32 netnsid)
{
	bool found;
	__u32 mark = sending_socket_mark(skb, cfg, p, netnsid, &found);

	if (!mark || (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) ==
	    (TCP_FLAG_SYN | TCP_FLAG_ACK))
		return;
	put_mark(skb, cfg, mark);
	if (p->tcp_flags & TCP_FLAG_SYN)
		count_container_flow(skb->ingress_ifindex, cfg, mark);
}
#else
static __always_inline void mark_container_packet(
	struct __sk_buff *skb, const struct mlb_config *cfg,
	struct container_packet *p, __s32 netnsid)
{
	__u8 syn = p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK);
	bool tcp = p->key.proto == IPPROTO_TCP, found;
	__u32 *known, mark = 0;

	known = bpf_map_lookup_elem(&flows, &p->key);
	/* a SYN starts the flow afresh: its tuple may have served another */
	if (known && !(tcp && syn == TCP_FLAG_SYN)) {
		if (*known)
			put_mark(skb, cfg, *known);
		return;
	}
	if (!(tcp && syn == (TCP_FLAG_SYN | TCP_FLAG_ACK))) {
		mark = sending_socket_mark(skb, cfg, p, netnsid, &found);
		if (!found)
			return;
	}
	bpf_map_update_elem(&flows, &p->key, &mark, BPF_ANY);
	if (!mark)
		return;
	put_mark(skb, cfg, mark);
	if (!tcp || syn == TCP_FLAG_SYN)
		count_container_flow(skb->ingress_ifindex, cfg, mark);
}
#endif

SEC("tc")
int mlb_tc_container(struct __sk_buff *skb)
{
	struct container_packet p = {};
	struct mlb_config *cfg;
	struct mlb_veth *veth;
	__u32 zero = 0, ifindex = skb->ingress_ifindex;

	cfg = bpf_map_lookup_elem(&settings, &zero);
	/* already ours: another attachment's program marked it first */
	if (!cfg || mark_is_ours(cfg, skb->mark))
		return TC_NEXT;
	veth = bpf_map_lookup_elem(&veths, &ifindex);
	if (!veth || veth->netnsid < 0)
		return TC_NEXT;
	if (parse_container_packet(skb, &p))
		return TC_NEXT;
	mark_container_packet(skb, cfg, &p, veth->netnsid);
	return TC_NEXT;
}

/* A packet from a --lan interface's clients, forwarded by the host: each
 * new flow gets an uplink from the slot table, kept for the flow's life.
 *
 * The choice lives in conntrack, which the masquerade needs anyway: the
 * flow's first packet has no conntrack entry yet, gets an uplink's mark
 * here, and the attachment's nftables table saves that mark in the
 * entry's ct mark as the entry is made (src/nat.c); every later packet
 * finds the entry and gets its mark back.  So the choice lives exactly
 * as long as the NAT mapping it goes with, an idle UDP flow's too, and
 * no map of ours can lose it under pressure.  An entry without a mark of
 * ours (a flow older than the attachment, a bypassed destination, a
 * connection made towards the client) is left alone.  A TCP SYN whose
 * entry is a closed connection of the same ports (TIME_WAIT, CLOSE) is a
 * new connection, which conntrack starts afresh: it is balanced as one.
 *
 * A conntrack lookup costs more than the rest of the program, so each
 * flow's mark is also kept in an LRU map consulted first: a hit is the
 * whole of a packet's work.  The map is only a shortcut to conntrack: a
 * flow it lost to LRU pressure finds its mark in conntrack again (and is
 * put back), a TCP SYN always asks conntrack (its ports may be a closed
 * connection's), and so does a flow whose uplink is no longer live.  A
 * UDP flow whose conntrack entry expired while the map kept it keeps its
 * uplink.
 *
 * Ethernet frames with IPv4 or IPv6 (no extension headers) carrying TCP
 * or UDP; everything else goes on untouched. */
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IP_OFFSET_MASK 0x1fff		/* fragment offset in frag_off */
#define CT_OPTS_SIZE 12			/* the size every kernel accepts */
#define ENOENT 2

/* Weak: the object loads on a kernel without them; mlb_tc_lan is then not
 * loaded at all (src/loader.c), and only --lan attachments fail. */
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb,
					 struct bpf_sock_tuple *tuple,
					 __u32 tuple__sz,
					 struct bpf_ct_opts *opts,
					 __u32 opts__sz) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;

/* New LAN flows given to each uplink; per CPU so counting never
 * contends.  Status shows them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MLB_MAX_UPLINKS);
	__type(key, __u32);
	__type(value, __u64);
} lan_flows SEC(".maps");

/* The mark each LAN flow has (0: none of ours, left alone), keyed by
 * what identifies the flow: its tuple as the packet has it, and the
 * protocol. */
struct lan_key {
	struct bpf_sock_tuple tuple;	/* IPv4's: the rest zero */
	__u32 l4proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MLB_MAX_FLOWS);
	__type(key, struct lan_key);
	__type(value, __u32);
} lan_marks SEC(".maps");

struct lan_flow {
	struct lan_key key;
	bool v6;
	bool syn;			/* a TCP SYN without ACK */
	struct mlb_addr dst;		/* as the destination trie keys it */
};

/* The ports after an IP header that ends at l4, and TCP's SYN. */
static __always_inline bool read_ports(void *l4, void *end, __u8 proto,
				       __be16 *sport, __be16 *dport,
				       bool *syn)
{
	struct udphdr *ports = l4;	/* TCP's start the same way */
	struct tcphdr *tcp = l4;

	if (proto == IPPROTO_TCP) {
		if ((void *)(tcp + 1) > end)
			return false;
		*syn = tcp->syn && !tcp->ack;
	} else if (proto != IPPROTO_UDP) {
		return false;
	}
	if ((void *)(ports + 1) > end)
		return false;
	*sport = ports->source;
	*dport = ports->dest;
	return true;
}

static __always_inline bool parse_flow4(void *ip4, void *end,
					struct lan_flow *f)
{
	struct iphdr *ip = ip4;

	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return false;
	/* later fragments carry no ports */
	if (ip->frag_off & bpf_htons(IP_OFFSET_MASK))
		return false;
	f->key.l4proto = ip->protocol;
	f->key.tuple.ipv4.saddr = ip->saddr;
	f->key.tuple.ipv4.daddr = ip->daddr;
	f->dst.word[2] = bpf_htonl(0xffff);
	f->dst.word[3] = ip->daddr;
	return read_ports(ip4 + ip->ihl * 4, end, ip->protocol,
			  &f->key.tuple.ipv4.sport, &f->key.tuple.ipv4.dport,
			  &f->syn);
}

static __always_inline bool parse_flow6(void *ip6, void *end,
					struct lan_flow *f)
{
	struct ipv6hdr *ip = ip6;

	if ((void *)(ip + 1) > end)
		return false;
	f->key.l4proto = ip->nexthdr;
	__builtin_memcpy(f->key.tuple.ipv6.saddr, &ip->saddr, 16);
	__builtin_memcpy(f->key.tuple.ipv6.daddr, &ip->daddr, 16);
	__builtin_memcpy(f->dst.word, &ip->daddr, 16);
	f->v6 = true;
	return read_ports(ip + 1, end, ip->nexthdr, &f->key.tuple.ipv6.sport,
			  &f->key.tuple.ipv6.dport, &f->syn);
}

static __always_inline bool parse_flow(struct __sk_buff *skb,
				       struct lan_flow *f)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return false;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return parse_flow4(data + ETH_HLEN, end, f);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return parse_flow6(data + ETH_HLEN, end, f);
	return false;
}

/* --sticky for a flow: the uplink the destination had less than
 * sticky_ns ago, if it still takes new flows, else the slot table's
 * (remembered for the next one). */
static __always_inline int sticky_flow_uplink(const struct mlb_config *cfg,
					      const struct mlb_addr *dst)
{
	__u64 now = bpf_ktime_get_ns();
	struct mlb_sticky *seen, fresh = { .last_ns = now };
	int uplink;

	seen = bpf_map_lookup_elem(&sticky, dst);
	if (seen && now - seen->last_ns < cfg->sticky_ns &&
	    (cfg->live & (1ULL << (seen->uplink & (MLB_MAX_UPLINKS - 1))))) {
		seen->last_ns = now;
		return (int)(seen->uplink & (MLB_MAX_UPLINKS - 1));
	}
	uplink = next_uplink(cfg);
	if (uplink >= 0) {
		fresh.uplink = (__u32)uplink;
		bpf_map_update_elem(&sticky, dst, &fresh, BPF_ANY);
	}
	return uplink;
}

/* The uplink of a new flow, or -1 to leave it to the main table: a
 * destination rule first (bypass, pin), then sticky, then the slot
 * table, as for a socket. */
static __always_inline int new_flow_uplink(const struct mlb_config *cfg,
					   const struct lan_flow *f)
{
	struct mlb_dest_key key = { .prefixlen = 128, .addr = f->dst };
	struct mlb_dest_rule *rule;

	rule = bpf_map_lookup_elem(&dest_rules, &key);
	if (rule)
		return rule->action == MLB_DEST_PIN ?
		       (int)(rule->uplink & (MLB_MAX_UPLINKS - 1)) : -1;
	if (cfg->sticky_ns)
		return sticky_flow_uplink(cfg, &f->dst);
	return next_uplink(cfg);
}

static __always_inline void set_mark(struct __sk_buff *skb,
				     const struct mlb_config *cfg, __u32 mark)
{
	skb->mark = (skb->mark & ~cfg->mark_mask) | mark;
}

/* Whether the uplink a mark of ours stands for still takes flows. */
static __always_inline bool mark_is_live(const struct mlb_config *cfg,
					 __u32 mark)
{
	__u32 uplink = (mark - cfg->mark_base) >> (cfg->mark_shift & 31);

	return cfg->live & (1ULL << (uplink & (MLB_MAX_UPLINKS - 1)));
}

/* The flow's mark as its conntrack entry keeps it; -ENOENT for a new
 * flow (no entry, or a SYN on a closed connection's ports), another
 * negative number when the lookup failed. */
static __always_inline long conntrack_mark(struct __sk_buff *skb,
					   const struct mlb_config *cfg,
					   struct lan_flow *f)
{
	struct bpf_ct_opts opts = {
		.netns_id = -1,			/* this namespace */
		.l4proto = (__u8)f->key.l4proto,
	};
	struct nf_conn *ct;
	__u32 mark;
	__u8 state;

	/* constant sizes: the verifier checks the tuple's length */
	if (f->v6)
		ct = bpf_skb_ct_lookup(skb, &f->key.tuple,
				       sizeof(f->key.tuple.ipv6), &opts,
				       CT_OPTS_SIZE);
	else
		ct = bpf_skb_ct_lookup(skb, &f->key.tuple,
				       sizeof(f->key.tuple.ipv4), &opts,
				       CT_OPTS_SIZE);
	if (!ct)
		return opts.error == -ENOENT ? -ENOENT : -1;
	state = ct->proto.tcp.state;
	mark = ct->mark & cfg->mark_mask;
	bpf_ct_release(ct);
	if (f->syn && (state == TCP_CONNTRACK_TIME_WAIT ||
		       state == TCP_CONNTRACK_CLOSE))
		return -ENOENT;
	return mark;
}

SEC("tc")
int mlb_tc_lan(struct __sk_buff *skb)
{
	struct lan_flow f = {};
	struct mlb_config *cfg;
	__u32 zero = 0, mark, *known = NULL;
	__u64 *count;
	long found;
	int uplink;

	if (!parse_flow(skb, &f))
		return TC_NEXT;
	cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg)
		return TC_NEXT;
	if (!f.syn) {
		known = bpf_map_lookup_elem(&lan_marks, &f.key);
		if (known && !*known)
			return TC_NEXT;
		if (known && mark_is_live(cfg, *known)) {
			set_mark(skb, cfg, *known);
			return TC_NEXT;
		}
	}
	found = conntrack_mark(skb, cfg, &f);
	if (found >= 0) {
		mark = (__u32)found;
		if (!known || *known != mark)
			bpf_map_update_elem(&lan_marks, &f.key, &mark,
					    BPF_ANY);
		if (mark)
			set_mark(skb, cfg, mark);
		return TC_NEXT;
	}
	if (found != -ENOENT)
		return TC_NEXT;
	uplink = new_flow_uplink(cfg, &f);
	mark = uplink >= 0 && uplink < MLB_MAX_UPLINKS ?
	       cfg->marks[uplink] : 0;
	/* A UDP flow's first datagram is often its only one (a DNS query):
	 * its second finds it in conntrack and puts it in the map. */
	if (f.syn)
		bpf_map_update_elem(&lan_marks, &f.key, &mark, BPF_ANY);
	if (!mark)
		return TC_NEXT;
	set_mark(skb, cfg, mark);
	count = bpf_map_lookup_elem(&lan_flows, &(__u32){ (__u32)uplink });
	if (count)
		*count += 1;
	return TC_NEXT;
}

char LICENSE[] SEC("license") = "GPL";
