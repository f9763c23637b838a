/* lan.bpf.h - mlb_tc_lan, part of mlb.bpf.c's object (it shares that
 * file's maps and helpers, and is included by it once): each new flow a
 * --lan interface's clients start gets an uplink, kept for its life.
 */

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
 * The flows parse.bpf.h reads (TCP and UDP over IPv4 or IPv6); everything
 * else goes on untouched. */
#define ENOENT 2

/* The lookup's options as every kernel since 5.18 lays them out (12
 * bytes; 6.12 appended the conntrack zone).  Our own type, not vmlinux.h's
 * struct bpf_ct_opts: a field written through that one is relocated
 * against the running kernel's BTF, and zeroing the zone fields that 6.1
 * lacks fails the load. */
struct lan_ct_opts {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u8 reserved[2];
};

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

/* The conntrack lookup's tuple and the destination of a parsed flow. */
static __always_inline void lan_flow_of(const struct parsed_flow *pf,
					struct lan_flow *f)
{
	f->key.l4proto = pf->proto;
	if (pf->v6) {
		__builtin_memcpy(f->key.tuple.ipv6.saddr, pf->src.word, 16);
		__builtin_memcpy(f->key.tuple.ipv6.daddr, pf->dst.word, 16);
		f->key.tuple.ipv6.sport = pf->sport;
		f->key.tuple.ipv6.dport = pf->dport;
	} else {
		f->key.tuple.ipv4.saddr = pf->src.word[3];
		f->key.tuple.ipv4.daddr = pf->dst.word[3];
		f->key.tuple.ipv4.sport = pf->sport;
		f->key.tuple.ipv4.dport = pf->dport;
	}
	f->v6 = pf->v6;
	f->syn = (pf->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) ==
		 TCP_FLAG_SYN;
	f->dst = pf->dst;
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
	struct lan_ct_opts opts = {
		.netns_id = -1,			/* this namespace */
		.l4proto = (__u8)f->key.l4proto,
	};
	struct nf_conn *ct;
	__u32 mark;
	__u8 state;

	/* constant sizes: the verifier checks the tuple's length */
	if (f->v6)
		ct = bpf_skb_ct_lookup(skb, &f->key.tuple,
				       sizeof(f->key.tuple.ipv6),
				       (struct bpf_ct_opts *)&opts,
				       sizeof(opts));
	else
		ct = bpf_skb_ct_lookup(skb, &f->key.tuple,
				       sizeof(f->key.tuple.ipv4),
				       (struct bpf_ct_opts *)&opts,
				       sizeof(opts));
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
	struct parsed_flow pf;
	struct lan_flow f = {};
	struct mlb_config *cfg;
	__u32 zero = 0, mark, *known = NULL;
	__u64 *count;
	long found;
	int uplink;

	if (parse_flow(skb, &pf))
		return TC_NEXT;
	lan_flow_of(&pf, &f);
	cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg)
		return TC_NEXT;
	if (!f.syn) {
		known = bpf_map_lookup_elem(&lan_marks, &f.key);
		if (known && !*known)
			return TC_NEXT;
		if (known && mark_is_live(cfg, *known)) {
			put_mark(skb, cfg, *known);
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
			put_mark(skb, cfg, mark);
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
	put_mark(skb, cfg, mark);
	count = bpf_map_lookup_elem(&lan_flows, &(__u32){ (__u32)uplink });
	if (count)
		*count += 1;
	return TC_NEXT;
}
