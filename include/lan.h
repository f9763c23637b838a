/* lan.h - the clients of --lan interfaces, forwarded by the host: each
 * interface gets the program that balances their new flows
 * (bpf/mlb.bpf.c, mlb_tc_lan), which keeps each flow's uplink in its
 * conntrack entry's mark (saved by the attachment's nftables table, see
 * nat.h), with an LRU map of its own in front.  Here: the checks a
 * --lan attachment needs first, putting the program on the interfaces
 * (again, when one is made again), and the flows it counted.
 */
#ifndef MLB_LAN_H
#define MLB_LAN_H

#include <stdint.h>

#include "error.h"
#include "state.h"

/* Find each --lan interface's index in the calling thread's namespace;
 * a missing one is an error that names it. */
int lan_resolve(struct mlb_state *state, struct mlb_err *err);

/* What forwarding LAN clients needs of the state's namespace (the caller
 * is in it): IPv4 forwarding on (IPv6 forwarding too when an uplink and
 * a --lan interface carry IPv6).  mlb-bpf never turns it on itself. */
int lan_check_forwarding(const struct mlb_state *state, struct mlb_err *err);

/* Whether the kernel has the conntrack kfuncs mlb_tc_lan calls
 * (bpf_skb_ct_lookup, bpf_ct_release) and the ct mark, in vmlinux or in
 * the nf_conntrack module, which must be loaded by now (kernel_features.h); the
 * one line says what is missing. */
int lan_check_kernel(struct mlb_err *err);

/* Put the program on every --lan interface of the state (the caller is in
 * the state's namespace). */
int lan_attach(const struct mlb_state *state, struct mlb_err *err);

/* Put it back on a --lan interface that was made again (a new ifindex),
 * found by name; one that is missing now is skipped. */
int lan_refresh(const struct mlb_state *state, struct mlb_err *err);

/* What status shows of an attachment's LAN program. */
struct lan_counts {
	uint64_t flows[MLB_MAX_UPLINKS];	/* new flows per uplink */
	uint64_t total;
	uint64_t run_time_ns;	/* with kernel.bpf_stats_enabled=1 */
	uint64_t run_cnt;
};

/* Read them for uplinks 0..n-1 (flows summed over CPUs); all 0 for an
 * attachment without the pins. */
int lan_read_counts(uint64_t cgroup_id, unsigned n, struct lan_counts *out,
		    struct mlb_err *err);

#endif
