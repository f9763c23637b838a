/* state.h - the record of one attachment: everything attach set up, so
 * that status can show it and detach can remove exactly that, from any
 * later process.  It is stored in the attachment's pinned "state" map
 * (see loader.h), so it lives and dies with the pins.
 *
 * Addresses are in network byte order.  An uplink may have IPv4, IPv6 or
 * both; an IPv4 field of 0 (or an IPv6 field of ::) means "none".
 */
#ifndef MLB_STATE_H
#define MLB_STATE_H

#include <stdbool.h>
#include <linux/types.h>
#include <net/if.h>

#include "mlb.h"

/* The record's layout version.  The record only grows at its end: the
 * record of version N is the first mlb_state_size(N) bytes of today's
 * (state_version.h), so a newer mlb-bpf reads an older one's and the
 * fields it lacked read 0.  6: 0.1.0; 7: made_by (0.2.0); 8: floor_pct
 * and fixed (--balance adaptive). */
#define MLB_STATE_VERSION 8

/* Defaults chosen to stay clear of the common mark users: kube-proxy
 * (0x4000, 0x8000), Cilium (0x0f00 and the upper 16 bits), Calico
 * (0xffff0000), Tailscale (0xff0000), wg-quick (0xca6c, matched whole). */
#define MLB_DEFAULT_MARK_BASE 0x10
#define MLB_DEFAULT_MARK_MASK 0xff
/* Tables and rule priorities clear of local/main/default (255/254/253),
 * Tailscale (52, priorities 52xx) and wg-quick (51820, 3276x). */
#define MLB_DEFAULT_TABLE_BASE 7100
#define MLB_DEFAULT_PRIORITY 7100

/* Which parts attach installed (mlb_state.installed). */
#define MLB_INSTALLED_ROUTES 0x1	/* per-uplink tables */
#define MLB_INSTALLED_RULES 0x2		/* ip rules */
#define MLB_INSTALLED_NAT 0x4		/* nftables table */

/* Health probing of an uplink (mlb_state_uplink.probe_type); 0 means "not
 * given": `watch` applies its own defaults to every zero field. */
#define MLB_PROBE_DEFAULT 0
#define MLB_PROBE_ICMP 1
#define MLB_PROBE_TCP 2
#define MLB_PROBE_ARP 3
#define MLB_MAX_PROBES 4

/* What new sockets get when every uplink is down (mlb_state.last_resort). */
#define MLB_LAST_RESORT_MAIN 0		/* no mark: the main table */
#define MLB_LAST_RESORT_UNREACHABLE 1	/* a table with only "unreachable" */

struct mlb_state_uplink {
	char ifname[IF_NAMESIZE];
	__u32 ifindex;
	__u32 addr;		/* the uplink's IPv4 address */
	__u32 prefixlen;	/* of addr: its connected route */
	__u32 gateway;
	__u32 weight;		/* 1..1000 */
	__u32 mark;		/* fwmark value, within mark_mask */
	__u32 table;		/* routing table id */
	__u32 gateway_given;	/* gateway= given: never follow main's */
	/* Health probing, as given on the command line (0: watch's
	 * default).  No probe address means the gateway. */
	__u32 probes[MLB_MAX_PROBES];
	__u32 nprobes;
	__u32 probe_type;	/* MLB_PROBE_* */
	__u32 probe_port;	/* MLB_PROBE_TCP */
	__u32 interval_ms;
	__u32 timeout_ms;
	__u32 down;		/* failures in a row to declare it down */
	__u32 up;		/* successes in a row to bring it back */
	/* IPv6: the uplink's first global address and the main table's
	 * IPv6 default gateway via it (often link-local).  All zero: the
	 * uplink carries no IPv6, and IPv6 sockets it gets follow main. */
	__u32 addr6[4];
	__u32 prefixlen6;
	__u32 gateway6[4];
	__u32 gateway6_given;	/* gateway6= given: never follow main's */
};

/* Whether a balancing mode counts live connections (charged at
 * connect, discharged at close: the sock_release hook, sk_charge). */
static inline bool mlb_balance_counts_conns(__u32 balance)
{
	return balance == MLB_BALANCE_LEAST_CONN ||
	       balance == MLB_BALANCE_ADAPTIVE;
}

/* Whether an address of four words (addr6, gateway6; an IPv4 one in the
 * first word) is "none". */
static inline bool mlb_addr_is_none(const __u32 a[4])
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

/* Copy what the kernel says of an uplink's link (its interface index,
 * addresses and gateways of both families) from one record to another:
 * policies that share routing, and a repair that follows the link. */
static inline void mlb_uplink_copy_link(struct mlb_state_uplink *to,
					const struct mlb_state_uplink *from)
{
	to->ifindex = from->ifindex;
	to->addr = from->addr;
	to->prefixlen = from->prefixlen;
	to->gateway = from->gateway;
	for (unsigned w = 0; w < 4; w++) {
		to->addr6[w] = from->addr6[w];
		to->gateway6[w] = from->gateway6[w];
	}
	to->prefixlen6 = from->prefixlen6;
}

/* Whether watch has nothing to probe on the uplink (no probe= and no IPv4
 * gateway: it carries only IPv6, and probes are IPv4), so it judges the
 * uplink by its link alone. */
static inline bool mlb_uplink_judged_by_link(const struct mlb_state_uplink *u)
{
	return !u->nprobes && !u->gateway;
}

/* One --bypass or --pin destination rule. */
#define MLB_STATE_MAX_DESTS 64
struct mlb_state_dest {
	__u32 family;		/* AF_INET or AF_INET6 */
	__u32 addr[4];		/* network byte order; IPv4 in addr[0] */
	__u32 prefixlen;	/* 0..32 (IPv4) or 0..128 (IPv6) */
	__u32 action;		/* MLB_DEST_BYPASS or MLB_DEST_PIN */
	__u32 uplink;		/* MLB_DEST_PIN: index into uplinks[] */
};

/* One --lan interface: the clients behind it are forwarded, each new flow
 * balanced on its own and masqueraded on its uplink. */
#define MLB_MAX_LAN 8
struct mlb_state_lan {
	char ifname[IF_NAMESIZE];
	__u32 ifindex;
};

struct mlb_state {
	__u32 version;
	__u32 nuplinks;
	__u64 cgroup_id;		/* inode of the cgroup directory */
	char cgroup_path[256];
	char netns_path[256];		/* "" = the namespace attach ran in */
	__u64 netns_inode;		/* that namespace, to refuse a wrong one */
	__u64 attached_at;		/* seconds since the epoch */
	__u32 mark_base;
	__u32 mark_mask;
	__u32 table_base;
	__u32 priority;			/* first of the three rule priorities (route.h) */
	__u32 installed;		/* MLB_INSTALLED_* */
	__u32 masquerade;		/* 1 with --masquerade */
	__u32 record_sockets;		/* 1 with --record-sockets */
	__u32 last_resort;		/* MLB_LAST_RESORT_* */
	__u32 unreachable_mark;		/* last-resort=unreachable: its mark */
	__u32 unreachable_table;	/* and its table ("unreachable default") */
	char nft_table[64];		/* "" when no NAT */
	struct mlb_state_uplink uplinks[MLB_MAX_UPLINKS];
	__u32 ndests;
	struct mlb_state_dest dests[MLB_STATE_MAX_DESTS];
	__u32 sticky_seconds;		/* --sticky, 0: off */
	/* Forwarded traffic: containers behind veths in this namespace and
	 * --lan interfaces get a tc program on their ingress (tc.h). */
	__u32 tc_mode;			/* MLB_TC_*: how they are attached */
	__u32 nlan;
	struct mlb_state_lan lan[MLB_MAX_LAN];
	__u32 balance;			/* MLB_BALANCE_* (mlb.h) */
	__u32 pad;
	/* version 7 */
	char made_by[16];		/* the release that attached ("": 0.1.0) */
	/* version 8: --balance adaptive */
	__u32 floor_pct;		/* --floor (0: MLB_DEFAULT_FLOOR_PCT) */
	__u32 pad8;
	__u64 fixed;			/* bit i: uplink i has adapt=no */
};

/* --floor: no measured weight falls below this percentage of the
 * largest, so every live uplink keeps some new sockets. */
#define MLB_DEFAULT_FLOOR_PCT 5
#define MLB_FLOOR_MIN 1
#define MLB_FLOOR_MAX 100

static inline unsigned mlb_floor_pct(const struct mlb_state *s)
{
	return s->floor_pct ? s->floor_pct : MLB_DEFAULT_FLOOR_PCT;
}

/* One uplink's health as `watch` last saw it (pinned map "health", one
 * entry per uplink), for status to show. */
#define MLB_HEALTH_UNKNOWN 0		/* no watch has looked yet */
#define MLB_HEALTH_UP 1
#define MLB_HEALTH_DOWN 2

struct mlb_health {
	__u32 state;			/* MLB_HEALTH_* */
	__u32 rtt_us;			/* of the last successful probe */
	__u64 since;			/* seconds since the epoch */
	__u64 last_probe;		/* seconds since the epoch; 0: never */
	__u32 last_ok;			/* the last probe's result */
	__u32 fails;			/* failed probes in a row */
	__u32 successes;		/* successful probes in a row */
	/* Times watch took the uplink out (up to down).  Was padding: a
	 * record written before it reads 0, and the size is unchanged. */
	__u32 failovers;
	char reason[64];		/* why the state last changed */
};

#endif
