// SPDX-License-Identifier: GPL-2.0
/* mlb.bpf.c - pick an uplink for every new socket.
 *
 * Attached at cgroup/sock_create: runs once per new AF_INET or AF_INET6
 * socket of every process in the cgroup subtree, before the socket is
 * used, so the route lookup at connect()/sendmsg() already follows the
 * chosen uplink's table (its fwmark rule) and the source address with it.  The mark stays
 * with the socket for life: no per-packet work, no conntrack.
 *
 * O(1) per socket: one counter increment and one slot-table index
 * (least-conn adds a scan of the uplinks' live counts: conns.bpf.h).
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

/* --record-sockets, set by the loader before load.  Without it the
 * verifier drops remember_choice() as dead code, so the object loads on a
 * kernel whose cgroup/sock_create programs have no socket storage (5.9+;
 * the loader then does not make sk_uplink either). */
const volatile bool record_sockets = false;

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

/* The uplink index for the next socket, or -1 when no table is live;
 * *turn is the socket's number in the shared sequence. */
static __always_inline int next_uplink_turn(const struct mlb_config *cfg,
					    __u64 *turn)
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
	*turn = n;
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

static __always_inline int next_uplink(const struct mlb_config *cfg)
{
	__u64 turn;

	return next_uplink_turn(cfg, &turn);
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

#include "conns.bpf.h"

SEC("cgroup/sock_create")
int mlb_sock_create(struct bpf_sock *sk)
{
	struct mlb_config *cfg;
	__u32 zero = 0, mark;
	__u64 turn;
	int uplink;

	if (!socket_is_ours(sk))
		return 1;
	cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg)
		return 1;
	uplink = next_uplink_turn(cfg, &turn);
	if (uplink < 0)
		return 1;
	uplink = choose_least_conn(sk, cfg, uplink, turn);
	mark = cfg->marks[uplink & (MLB_MAX_UPLINKS - 1)];
	sk->mark = mark;
	count_socket(uplink);
	if (record_sockets && (cfg->flags & MLB_F_RECORD_SOCKETS))
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
 * otherwise it keeps the uplink sock_create chose, which is remembered.
 * Returns the mark the socket leaves with. */
static __always_inline __u32 stick_to_destination(struct bpf_sock_addr *ctx,
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
			return new_mark;
		}
	}
	fresh.uplink = (mark - cfg->mark_base) >> (cfg->mark_shift & 31);
	bpf_map_update_elem(&sticky, dst, &fresh, BPF_ANY);
	return mark;
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
 * where it was bound (the "from ADDR" rule, or the device's routes).
 * At connect() the socket is then counted on the uplink it leaves by. */
static __always_inline void apply_dest_rule(struct bpf_sock_addr *ctx,
					    const struct mlb_addr *dst,
					    bool connecting)
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
	if (!cfg)
		return;
	mark = sk->mark;
	if (!mark_is_ours(cfg, mark)) {
		/* a UDP socket connected again after losing our mark */
		if (connecting)
			charge_socket(sk, cfg, 0);
		return;
	}
	if (socket_is_bound(sk)) {
		mark = 0;
	} else {
		rule = bpf_map_lookup_elem(&dest_rules, &key);
		if (!rule) {
			if (cfg->sticky_ns)
				mark = stick_to_destination(ctx, cfg, dst,
							    mark);
			if (connecting)
				charge_socket(sk, cfg, mark);
			return;
		}
		mark = rule->action == MLB_DEST_PIN ?
		       (int)cfg->marks[rule->uplink & (MLB_MAX_UPLINKS - 1)] :
		       0;
	}
	bpf_setsockopt(ctx, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	if (connecting)
		charge_socket(sk, cfg, mark);
}

/* An IPv4 destination, as the IPv4-mapped address the trie holds. */
static __always_inline void dest_rule4(struct bpf_sock_addr *ctx,
				       bool connecting)
{
	struct mlb_addr dst = {
		.word = { 0, 0, bpf_htonl(0xffff), ctx->user_ip4 },
	};

	apply_dest_rule(ctx, &dst, connecting);
}

static __always_inline void dest_rule6(struct bpf_sock_addr *ctx,
				       bool connecting)
{
	struct mlb_addr dst = {
		.word = { ctx->user_ip6[0], ctx->user_ip6[1],
			  ctx->user_ip6[2], ctx->user_ip6[3] },
	};

	apply_dest_rule(ctx, &dst, connecting);
}

SEC("cgroup/connect4")
int mlb_connect4(struct bpf_sock_addr *ctx)
{
	dest_rule4(ctx, true);
	return 1;
}

SEC("cgroup/sendmsg4")
int mlb_sendmsg4(struct bpf_sock_addr *ctx)
{
	dest_rule4(ctx, false);
	return 1;
}

SEC("cgroup/connect6")
int mlb_connect6(struct bpf_sock_addr *ctx)
{
	dest_rule6(ctx, true);
	return 1;
}

SEC("cgroup/sendmsg6")
int mlb_sendmsg6(struct bpf_sock_addr *ctx)
{
	dest_rule6(ctx, false);
	return 1;
}

/* Forwarded traffic, run on interfaces' ingress (src/tc.c attaches them).
 * Both always let the packet go on (TCX_NEXT, TC_ACT_UNSPEC: -1). */
#define TC_NEXT -1

/* Our mark on a packet, the bits of others' marks kept. */
static __always_inline void put_mark(struct __sk_buff *skb,
				     const struct mlb_config *cfg, __u32 mark)
{
	skb->mark = (skb->mark & ~cfg->mark_mask) | mark;
}

#include "parse.bpf.h"
#include "container.bpf.h"
#include "lan.bpf.h"

char LICENSE[] SEC("license") = "GPL";
