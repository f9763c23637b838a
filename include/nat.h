/* nat.h - the optional masquerade (--masquerade) and the NAT of --lan
 * clients, through libnftables: one nftables table of mlb-bpf's own per
 * attachment, in the calling thread's network namespace, for IPv4 and
 * IPv6 at once (family inet):
 *
 *   table inet NAME {
 *     chain postrouting {
 *       type nat hook postrouting priority srcnat; policy accept;
 *       iifname { "LAN_0", ... } meta mark & MASK != 0
 *                                ct mark set meta mark & MASK   (--lan)
 *       oifname "IF_0" masquerade                       (--masquerade)
 *       oifname "IF_1" meta nfproto ipv4 masquerade
 *       iifname { "LAN_0", ... } oifname "IF_0" masquerade
 *                                     (--lan without --masquerade)
 *       ...
 *     }
 *   }
 *
 * The ct mark rule keeps a LAN flow's uplink in its conntrack entry (see
 * lan.h).  An uplink that carries one family only (state.h: addr or
 * addr6 zero) masquerades that family only, so traffic of the other
 * family that the main table happens to send out by it keeps its source.
 */
#ifndef MLB_NAT_H
#define MLB_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "state.h"

/* Name of the attachment's table: "mlb_bpf_<cgroup id>". */
void nat_table_name(uint64_t cgroup_id, char *buf, size_t len);

/* Whether an `inet` family table of that name exists (-1 on error). */
int nat_table_exists(const char *name, struct mlb_err *err);

/* Whether the attachment has a table: --masquerade or --lan. */
bool nat_wanted(const struct mlb_state *state);

/* Fail, naming it, if state->nft_table already exists (someone else's). */
int nat_check_free(const struct mlb_state *state, struct mlb_err *err);

/* Create state->nft_table with the rules above and set
 * MLB_INSTALLED_NAT.  Fails if the table already exists. */
int nat_install(struct mlb_state *state, struct mlb_err *err);

/* Delete state->nft_table if MLB_INSTALLED_NAT is set; a missing table is
 * not an error. */
int nat_remove(const struct mlb_state *state, struct mlb_err *err);

#endif
