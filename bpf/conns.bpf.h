/* SPDX-License-Identifier: GPL-2.0 */
/* conns.bpf.h - live connections per uplink, and --balance least-conn
 * and adaptive.
 *
 * Included by mlb.bpf.c after next_uplink_turn().  A TCP or UDP socket that
 * sock_create gave an uplink in least-conn or adaptive mode gets a charge
 * record (map sk_charge); connect() counts it on the uplink its final
 * mark leads to (after bypass, pin, sticky and a bound address had their
 * say), and its release takes the count back.  So a socket created and
 * closed unused, or an unconnected UDP socket, is never counted, and the
 * release undoes exactly what connect did, whatever the uplinks became
 * meanwhile.
 */
#ifndef MLB_CONNS_BPF_H
#define MLB_CONNS_BPF_H

#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/* Set by the loader where cgroup/sock_create has socket storage (5.9+);
 * without it the verifier drops every use of sk_charge below, and
 * least-conn is refused before load (kernel_features.h). */
const volatile bool can_count_conns = false;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mlb_conns);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mlb_sk_charge);
} sk_charge SEC(".maps");

static __always_inline bool carries_connections(const struct bpf_sock *sk)
{
	return sk->protocol == IPPROTO_TCP || sk->protocol == IPPROTO_UDP;
}

/* 1 if x (below 2^63) is not 0, else 0; and a mask of all ones where
 * flag is 1.  Comparisons are arithmetic here, not branches: a branch
 * per uplink would give the verifier a path per combination of them,
 * more than it takes for 64 uplinks. */
static __always_inline __u64 nonzero(__u64 x)
{
	__u64 y = x | -x;

	barrier_var(y);		/* else the compiler makes it x != 0 */
	return y >> 63;
}

/* 1 if a < b, both below 2^63 (a live count, at most 2^53 sockets,
 * times a weight of at most 1000). */
static __always_inline __u64 below(__u64 a, __u64 b)
{
	__u64 d = a - b;

	barrier_var(d);
	return d >> 63;
}

static __always_inline __u64 choose(__u64 flag, __u64 yes, __u64 no)
{
	__u64 mask = -flag;

	barrier_var(mask);	/* kept arithmetic, not a branch again */
	return no ^ ((no ^ yes) & mask);
}

/* The uplink with the fewest live connections per unit of weight
 * (c_i / w_i compared as c_i * w_b against c_b * w_i); adaptive counts
 * the new socket too, (c_i + 1) / w_i, the shortest expected delay: an
 * idle slow uplink then loses to a busy one whose weight is more than
 * (its connections + 1) times larger.  Ties are broken so that idle
 * uplinks share new sockets as round-robin would: the slot
 * table's own choice, first, wins when it is among the lightest (all
 * idle: weighted round-robin, as rr); otherwise the lightest take turns
 * by the socket's number, turn.  Unlike the rest of the program these
 * are loops over the uplinks: two passes of at most nuplinks steps. */
static __always_inline int least_conn_uplink(const struct mlb_config *cfg,
					     int first, __u64 turn, __u64 extra)
{
	__u32 zero = 0, n = cfg->nuplinks, f = first & (MLB_MAX_UPLINKS - 1);
	struct mlb_conns *c = bpf_map_lookup_elem(&conns, &zero);
	/* the best so far: a load of ~0 over weight 1 loses to any uplink */
	__u64 best_c = ~0ULL >> 12, best_w = 1, ties = 0, pick, found;
	__u64 fl, fr;

	if (!c || n > MLB_MAX_UPLINKS)
		return first;
	for (__u32 i = 0; i < MLB_MAX_UPLINKS && i < n; i++) {
		__u64 w = cfg->weight[i], live = c->live[i] + extra;
		__u64 l = live * best_w, r = best_c * w;
		__u64 ok = nonzero(w), lt = below(l, r) & ok;
		__u64 eq = (1 - nonzero(l - r)) & ok;

		best_c = choose(lt, live, best_c);
		best_w = choose(lt, w, best_w);
		ties = choose(lt, 1, ties + eq);
	}
	fl = (c->live[f] + extra) * best_w;
	fr = best_c * cfg->weight[f];
	if (!ties || (cfg->weight[f] && fl == fr))
		return first;
	pick = turn % ties;
	found = first;
	for (__u32 i = 0; i < MLB_MAX_UPLINKS && i < n; i++) {
		__u64 w = cfg->weight[i];
		__u64 eq = (1 - nonzero((c->live[i] + extra) * best_w -
					best_c * w)) &
			   nonzero(w);

		/* the pick-th of the lightest: pick counts down through them */
		found = choose(eq & (1 - nonzero(pick)), i, found);
		pick -= eq;
	}
	return found;
}

/* sock_create, least-conn and adaptive: the uplink for a TCP or UDP
 * socket, and its charge record, which makes this policy the one that
 * counts it. */
static __always_inline int choose_least_conn(struct bpf_sock *sk,
					     const struct mlb_config *cfg,
					     int first, __u64 turn)
{
	struct mlb_sk_charge *ch;
	int uplink;

	if (!can_count_conns || !carries_connections(sk) ||
	    (cfg->balance != MLB_BALANCE_LEAST_CONN &&
	     cfg->balance != MLB_BALANCE_ADAPTIVE))
		return first;
	uplink = least_conn_uplink(cfg, first, turn,
				   cfg->balance == MLB_BALANCE_ADAPTIVE);
	ch = bpf_sk_storage_get(&sk_charge, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (ch) {
		ch->state = MLB_CHARGE_NONE;
		ch->uplink = uplink;
	}
	return uplink;
}

/* The index of the uplink whose mark this is, or -1 (0, or not ours). */
static __always_inline int uplink_of_mark(const struct mlb_config *cfg,
					  __u32 mark)
{
	__u32 i;

	if (!mark || (mark & ~cfg->mark_mask) || mark < cfg->mark_base)
		return -1;
	i = (mark - cfg->mark_base) >> (cfg->mark_shift & 31);
	if (i >= cfg->nuplinks || i >= MLB_MAX_UPLINKS)
		return -1;
	/* the verifier loses the bound of a variable shift; the mask (kept
	 * by the barrier) gives it one */
	barrier_var(i);
	i &= MLB_MAX_UPLINKS - 1;
	if (cfg->marks[i] != mark)
		return -1;
	return i;
}

static __always_inline void discharge(struct mlb_sk_charge *ch)
{
	__u32 zero = 0;
	struct mlb_conns *c;

	if (ch->state != MLB_CHARGE_LIVE)
		return;
	ch->state = MLB_CHARGE_NONE;
	c = bpf_map_lookup_elem(&conns, &zero);
	if (c)
		__sync_fetch_and_add(&c->live[ch->uplink &
					      (MLB_MAX_UPLINKS - 1)],
				     (__u64)-1);
}

/* connect(): count the socket on the uplink of mark, the one it leaves
 * by; a connect again (UDP) moves the count if the uplink changed. */
static __always_inline void charge_socket(struct bpf_sock *sk,
					  const struct mlb_config *cfg,
					  __u32 mark)
{
	struct mlb_sk_charge *ch;
	struct mlb_conns *c;
	__u32 zero = 0;
	int uplink;

	if (!can_count_conns)
		return;
	ch = bpf_sk_storage_get(&sk_charge, sk, 0, 0);
	if (!ch)
		return;		/* not chosen by this policy in least-conn */
	uplink = uplink_of_mark(cfg, mark);
	if (ch->state == MLB_CHARGE_LIVE && (__u32)uplink == ch->uplink)
		return;
	discharge(ch);
	c = bpf_map_lookup_elem(&conns, &zero);
	if (uplink < 0 || !c)
		return;
	__sync_fetch_and_add(&c->live[uplink & (MLB_MAX_UPLINKS - 1)], 1);
	ch->uplink = uplink;
	ch->state = MLB_CHARGE_LIVE;
}

/* close(): the count connect added goes back.  Attached with least-conn,
 * and kept while the attachment lives, so a mode changed back to rr
 * still takes back what was counted before. */
SEC("cgroup/sock_release")
int mlb_sock_release(struct bpf_sock *sk)
{
	struct mlb_sk_charge *ch;

	if (!can_count_conns)
		return 1;
	ch = bpf_sk_storage_get(&sk_charge, sk, 0, 0);
	if (ch)
		discharge(ch);
	return 1;
}

#endif
