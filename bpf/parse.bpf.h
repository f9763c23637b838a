/* parse.bpf.h - part of mlb.bpf.c's object (included by it once, before
 * the tc programs): the one parser of a packet's headers that every tc
 * program uses.  It reads an Ethernet frame's IPv4 or IPv6 header and its
 * TCP or UDP ports into a struct parsed_flow; each program builds its own
 * map key from that.
 *
 * What it takes: IPv4 (any header length, the first fragment only: later
 * ones carry no ports) and IPv6 with TCP or UDP right after the fixed
 * header.  Everything else (ICMP, other protocols, IPv6 extension
 * headers, ARP) is no flow, and the programs leave it untouched.
 */
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IP_OFFSET_MASK 0x1fff		/* fragment offset in frag_off */
#define TCP_FLAG_ACK 0x10
#define TCP_FLAG_SYN 0x02
/* The most a flow's headers take: Ethernet, the longest IPv4 header,
 * TCP's fixed header (the longest transport header read). */
#define PARSE_HDR_MAX (ETH_HLEN + 60 + sizeof(struct tcphdr))

/* One packet's flow, as the packet has it (not as its socket sees it). */
struct parsed_flow {
	struct mlb_addr src;		/* IPv4 as ::ffff:a.b.c.d */
	struct mlb_addr dst;
	__be16 sport;
	__be16 dport;
	__u8 proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 tcp_flags;			/* TCP_FLAG_*; 0 for UDP */
	bool v6;
};

/* The walk's verdicts: a flow, headers beyond the linear part (pulled and
 * read again), or no flow. */
#define PARSE_FLOW 0
#define PARSE_SHORT 1
#define PARSE_NONE -1

/* The ports at l4, and TCP's flags.  The whole fixed TCP header must be
 * there: one shorter is no TCP. */
static __always_inline int parse_ports(void *l4, void *end, __u8 proto,
				       struct parsed_flow *f)
{
	struct udphdr *udp = l4;
	struct tcphdr *tcp = l4;

	if (proto == IPPROTO_TCP) {
		if ((void *)(tcp + 1) > end)
			return PARSE_SHORT;
		f->tcp_flags = ((__u8 *)tcp)[13];
	} else if (proto == IPPROTO_UDP) {
		if ((void *)(udp + 1) > end)
			return PARSE_SHORT;
		f->tcp_flags = 0;
	} else {
		return PARSE_NONE;
	}
	f->proto = proto;
	f->sport = udp->source;		/* TCP's ports are in the same place */
	f->dport = udp->dest;
	return PARSE_FLOW;
}

static __always_inline int parse_ipv4(void *l3, void *end,
				      struct parsed_flow *f)
{
	struct iphdr *ip = l3;

	if ((void *)(ip + 1) > end)
		return PARSE_SHORT;
	if (ip->ihl < 5 || (ip->frag_off & bpf_htons(IP_OFFSET_MASK)))
		return PARSE_NONE;
	f->src.word[0] = f->src.word[1] = 0;
	f->dst.word[0] = f->dst.word[1] = 0;
	f->src.word[2] = f->dst.word[2] = bpf_htonl(0xffff);
	f->src.word[3] = ip->saddr;
	f->dst.word[3] = ip->daddr;
	f->v6 = false;
	return parse_ports(l3 + ip->ihl * 4, end, ip->protocol, f);
}

static __always_inline int parse_ipv6(void *l3, void *end,
				      struct parsed_flow *f)
{
	struct ipv6hdr *ip = l3;

	if ((void *)(ip + 1) > end)
		return PARSE_SHORT;
	__builtin_memcpy(f->src.word, &ip->saddr, 16);
	__builtin_memcpy(f->dst.word, &ip->daddr, 16);
	f->v6 = true;
	return parse_ports(ip + 1, end, ip->nexthdr, f);
}

/* skb->protocol, not the frame's EtherType: the kernel's own reading of
 * the frame, with no byte of it to read. */
static __always_inline int parse_linear(struct __sk_buff *skb,
					struct parsed_flow *f)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	if (data + ETH_HLEN > end)
		return PARSE_SHORT;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return parse_ipv4(data + ETH_HLEN, end, f);
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data + ETH_HLEN, end, f);
	return PARSE_NONE;
}

/* The packet's TCP or UDP flow: 0, or -1 for anything else.  Headers are
 * in the linear part almost always; a driver that leaves them in pages
 * (and a packet built so) gets them pulled there, once, and never more
 * than the headers. */
static __always_inline int parse_flow(struct __sk_buff *skb,
				      struct parsed_flow *f)
{
	int ret = parse_linear(skb, f);

	if (ret != PARSE_SHORT)
		return ret;
	if (bpf_skb_pull_data(skb, skb->len < PARSE_HDR_MAX ?
			      skb->len : PARSE_HDR_MAX))
		return PARSE_NONE;
	return parse_linear(skb, f) == PARSE_FLOW ? PARSE_FLOW : PARSE_NONE;
}
