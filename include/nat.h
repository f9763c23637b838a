/* nat.h - what mlb-bpf does with conntrack, through libnftables: the
 * optional masquerade (--masquerade), the NAT of --lan clients, and the
 * answers to connections forwarded in from an uplink (a container's
 * published port, a LAN host's port forward).  One nftables table of
 * mlb-bpf's own per attachment, in the calling thread's network
 * namespace, for IPv4 and IPv6 at once (family inet):
 *
 *   table inet NAME {
 *     chain prerouting {
 *       type filter hook prerouting priority mangle; policy accept;
 *       ct state new ct mark set iifname map { "IF_0" : MARK_0, ... }
 *       ct direction reply meta mark 0 ct mark & MASK != 0
 *           iifname != { "IF_0", ... } meta mark set ct mark & MASK
 *     }
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
 * The prerouting chain is mwan3's: a connection that comes in on an
 * uplink keeps that uplink's mark in its conntrack entry, and its answer,
 * forwarded back from a container's bridge or a LAN interface, gets the
 * mark before its route lookup, so the uplink's fwmark rule sends it out
 * by the uplink the connection came in on, with the source address the
 * DNAT is undone to, which that uplink's ISP accepts.  (The host's own
 * servers need none of it: their answers leave by the from-rules,
 * route.h.)  mlb_tc_lan finds the same ct mark for a LAN host's answers.
 *
 * A ct expression brings conntrack into the namespace, which mlb-bpf
 * avoids for the host's own sockets: the table is made only where it
 * has work, with --masquerade, --lan, or IP forwarding on (IPv4 or IPv6;
 * without it nothing is forwarded in), and watch makes it when
 * forwarding is turned on later (a container runtime started after the
 * attach).  The postrouting chain exists with --masquerade or --lan only.
 *
 * The ct mark rule of postrouting keeps a LAN flow's uplink in its
 * conntrack entry (see lan.h).  An uplink that carries one family only (state.h: addr or
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

/* Whether IP forwarding (IPv4 or IPv6) is on in the calling thread's
 * namespace. */
bool nat_forwarding(void);

/* Whether the attachment needs its table now (the caller is in its
 * namespace): it has a name for one (attachments made by versions
 * before the inbound chain have none without --masquerade or --lan),
 * and --masquerade, --lan or forwarding. */
bool nat_wanted(const struct mlb_state *state);

/* Fail, naming it, if state->nft_table already exists (someone else's). */
int nat_check_free(const struct mlb_state *state, struct mlb_err *err);

/* Create state->nft_table with the rules above and set
 * MLB_INSTALLED_NAT.  Fails if the table already exists. */
int nat_install(struct mlb_state *state, struct mlb_err *err);

/* watch and repair: make the table if it is wanted and missing (deleted
 * by a firewall's `nft flush ruleset`, or forwarding turned on since the
 * attach); *made says so.  The caller is in the state's namespace. */
int nat_reconcile(const struct mlb_state *state, bool *made,
		  struct mlb_err *err);

/* Delete state->nft_table if it exists, whoever made it (attach or
 * watch); a missing table is not an error. */
int nat_remove(const struct mlb_state *state, struct mlb_err *err);

#endif
