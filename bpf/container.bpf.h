/* container.bpf.h - mlb_tc_container, part of mlb.bpf.c's object (it
 * shares that file's maps and helpers, and is included by it once): the
 * mark of a container's socket, put back on its packets on the host end of
 * the container's veth.
 */

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

/* The flow map's key and the socket lookup's tuple of a parsed flow. */
static __always_inline void container_packet_of(const struct parsed_flow *f,
						struct container_packet *p)
{
	p->key.src = f->src;
	p->key.dst = f->dst;
	p->key.sport = f->sport;
	p->key.dport = f->dport;
	p->key.proto = f->proto;
	p->v6 = f->v6;
	p->tcp_flags = f->tcp_flags;
	if (f->v6) {
		__builtin_memcpy(p->tuple.ipv6.saddr, f->dst.word, 16);
		__builtin_memcpy(p->tuple.ipv6.daddr, f->src.word, 16);
		p->tuple.ipv6.sport = f->dport;
		p->tuple.ipv6.dport = f->sport;
	} else {
		p->tuple.ipv4.saddr = f->dst.word[3];
		p->tuple.ipv4.daddr = f->src.word[3];
		p->tuple.ipv4.sport = f->dport;
		p->tuple.ipv4.dport = f->sport;
	}
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
	struct parsed_flow f;
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
	if (parse_flow(skb, &f))
		return TC_NEXT;
	container_packet_of(&f, &p);
	mark_container_packet(skb, cfg, &p, veth->netnsid);
	return TC_NEXT;
}
