/* mlb.h - what the BPF program and the loader share: limits, map values.
 *
 * Included by bpf/mlb.bpf.c (after vmlinux.h) and by src/; it defines
 * layouts only, never code.
 */
#ifndef MLB_H
#define MLB_H

#ifndef __VMLINUX_H__		/* the BPF side has its types from vmlinux.h */
#include <linux/types.h>
#endif

/* Uplinks per attachment.  64 keeps an uplink index in one byte and the
 * per-uplink arrays small enough to live in one map value. */
#define MLB_MAX_UPLINKS 64

/* Slots in one slot table: the sum of the weights after dividing by their
 * greatest common divisor (64 uplinks x weight 1000 = 64000 fits). */
#define MLB_MAX_SLOTS 65536

/* Destinations with a rule of their own (map "dest_rules", LPM trie):
 * checked at connect()/sendmsg(), when the destination is known.  One
 * trie serves both families: an IPv4 address is kept as the IPv4-mapped
 * IPv6 address ::ffff:a.b.c.d (prefix 96 + len), which is also what an
 * IPv6 socket connecting to an IPv4 peer presents. */
#define MLB_MAX_DEST_RULES 256
#define MLB_DEST_BYPASS 1		/* never balanced: no mark, main table */
#define MLB_DEST_PIN 2			/* always this uplink */

/* An IPv6 (or IPv4-mapped) address, network byte order. */
struct mlb_addr {
	__u32 word[4];
};

struct mlb_dest_key {
	__u32 prefixlen;		/* 0..128 */
	struct mlb_addr addr;
};

struct mlb_dest_rule {
	__u32 action;			/* MLB_DEST_* */
	__u32 uplink;			/* MLB_DEST_PIN */
};

/* --sticky: the uplink a destination got, and when it last got a new
 * connection (map "sticky", LRU hash keyed by struct mlb_addr). */
#define MLB_MAX_STICKY 65536

struct mlb_sticky {
	__u32 uplink;
	__u32 pad;
	__u64 last_ns;			/* bpf_ktime_get_ns() */
};

/* mlb_config.flags */
#define MLB_F_RECORD_SOCKETS 0x1	/* keep a sk_uplink record per socket */

/* How a new socket's uplink is chosen (mlb_config.balance,
 * mlb_state.balance).  New modes take the next numbers; 0 stays rr, so a
 * record that never set it means round-robin. */
#define MLB_BALANCE_RR 0		/* the slot table, by weight */
#define MLB_BALANCE_LEAST_CONN 1	/* fewest live connections per weight */
/* The weights are watch's measure of what each uplink carries, and a
 * new socket takes the uplink where it would get the largest share of
 * that: the fewest (live connections + 1) per unit of weight. */
#define MLB_BALANCE_ADAPTIVE 2

/* Settings the program reads for every socket (map "settings", one entry). */
struct mlb_config {
	__u32 active_table;		/* 0 or 1: which slot table is live */
	__u32 nuplinks;
	__u32 flags;			/* MLB_F_* */
	__u32 mark_mask;		/* which marks are ours to change */
	__u32 mark_base;		/* uplink i's mark is base + (i << shift) */
	__u32 mark_shift;
	__u64 live;			/* bit i: uplink i gets new sockets */
	__u64 sticky_ns;		/* --sticky, 0: off */
	__u32 marks[MLB_MAX_UPLINKS];	/* fwmark written to sk->mark */
	__u32 balance;			/* MLB_BALANCE_* */
	__u32 pad;
	/* Weights in force (0: takes no new sockets), as in the live slot
	 * table: least-conn divides each uplink's live count by its own. */
	__u32 weight[MLB_MAX_UPLINKS];
};

/* One slot table (map "slots" holds two: the live one and the one being
 * rewritten).  Socket n gets uplink[n % len]. */
struct mlb_slot_table {
	__u32 len;			/* 0: hand out no marks */
	__u8 uplink[MLB_MAX_SLOTS];	/* uplink index per slot */
};

/* Global socket counter shared by all CPUs (map "cursor", one entry), so
 * round-robin is exact across threads, not per CPU. */
struct mlb_cursor {
	__u64 next;
};

/* What the program decided for one socket (map "sk_uplink", socket
 * storage), with --record-sockets.  Off by default: creating the storage
 * costs several times the rest of the program, and the socket's mark
 * already says which uplink it has. */
struct mlb_sk_choice {
	__u32 uplink;
	__u32 mark;
};

/* Live connections per uplink (map "conns", one entry), for least-conn
 * and status: a TCP or UDP socket is charged at connect() to the uplink
 * its mark leads to, and discharged when it is closed.  One value shared
 * by all CPUs, changed only by atomic adds, so the count is exact. */
struct mlb_conns {
	__u64 live[MLB_MAX_UPLINKS];
};

/* The charge of one socket (map "sk_charge", socket storage), made at
 * sock_create by the policy that chose its uplink, so only that policy
 * counts it (nested policies' connect programs see the same socket), and
 * the release takes back exactly what connect added, whatever the
 * uplinks or the mode became meanwhile. */
#define MLB_CHARGE_NONE 0		/* chosen here, not connected yet */
#define MLB_CHARGE_LIVE 1		/* counted in conns.live[uplink] */

struct mlb_sk_charge {
	__u32 state;			/* MLB_CHARGE_* */
	__u32 uplink;
};

/* --balance adaptive: what watch measured of one uplink and the weight
 * it set (pinned map "capacity", one entry per uplink; written by watch
 * only, made by the first watch that needs it).  The counters are where
 * the last sample ended, so a restarted watch carries on. */
#define MLB_WEIGHT_WHY_START 1		/* the given weight: none measured yet */
#define MLB_WEIGHT_WHY_MEASURED 2	/* its share of the measured capacity */
#define MLB_WEIGHT_WHY_FLOOR 3		/* measured below the floor: held at it */
#define MLB_WEIGHT_WHY_STEP 4		/* moving toward its share, a bounded step */
#define MLB_WEIGHT_WHY_FIXED 5		/* adapt=no: the given weight */
#define MLB_WEIGHT_WHY_DOWN 6		/* down: takes no new sockets */
#define MLB_WEIGHT_WHY_UNMEASURED 7	/* others measured, not it: the most */

struct mlb_capacity {
	__u64 bps;			/* capacity, bits/s (0: not measured) */
	__u64 sample_bps;		/* the last sample's rate */
	__u64 rx_bytes;			/* the interface's counters at */
	__u64 tx_bytes;			/* the last sample */
	__u64 sampled_us;		/* CLOCK_MONOTONIC, µs; 0: none yet */
	__u64 changed;			/* weight last changed, epoch seconds */
	__u32 ifindex;			/* whose counters those are */
	__u32 lows;			/* busy samples in a row below bps */
	__u32 weight;			/* in force (0: none set yet) */
	__u32 why;			/* MLB_WEIGHT_WHY_* */
	__u32 rtt_us;			/* the probes' round trip at the sample */
	__u32 rtt_min_us;		/* the least of late (no queue) */
};

/* Containers (mlb_tc_container, on the host end of each container's veth).
 * Map "veths": which veths the program serves, keyed by ifindex; the peer's
 * namespace id as the host's namespace sees it (IFLA_LINK_NETNSID), for
 * the socket lookup, and the name, for status. */
#define MLB_MAX_VETHS 1024

struct mlb_veth {
	__s32 netnsid;
	__u32 pad;
	char ifname[16];		/* IF_NAMESIZE */
};

/* Map "flows" (LRU hash): the mark each flow a container started got,
 * from its first packet's socket, kept after the socket is gone so that a
 * flow's last packets (the ACK from TIME_WAIT, a RST) leave by the same
 * uplink.  0: the flow is not ours (an answer of a server in the
 * container, or a socket without our mark). */
#define MLB_MAX_FLOWS 65536

struct mlb_flow_key {
	struct mlb_addr src;		/* as the packet has them */
	struct mlb_addr dst;
	__u16 sport;			/* network byte order */
	__u16 dport;
	__u32 proto;			/* IPPROTO_TCP, IPPROTO_UDP */
};

/* Map "veth_counts" (per-CPU hash): connections a container started per
 * uplink per veth (a TCP SYN, a connected UDP socket's first datagram). */
struct mlb_veth_count_key {
	__u32 ifindex;
	__u32 uplink;
};

#endif
