/* route.h - policy routing over netlink (libnl-route-3): looking up an
 * uplink's interface, addresses and gateways, and installing / removing
 * the per-uplink tables and the ip rules of one attachment.
 *
 * Everything acts on the network namespace the calling thread is in
 * (see netns.h).  What it installs, for uplinks i = 0..n-1, with
 * P = state->priority, in each family (IPv4, IPv6) on its own:
 *
 *   table T_i:  ADDR_i/PREFIX dev IF_i scope link src ADDR_i
 *               default via GW_i dev IF_i src ADDR_i
 *   rule  P:    from all lookup main suppress_prefixlength 0
 *   rule  P+1:  from ADDR_i lookup T_i           (one per uplink)
 *   rule  P+2:  from ADDR_i unreachable          (one per uplink with a
 *                                                 gateway in the family)
 *   rule  P+3:  fwmark M_i/MASK lookup T_i       (one per uplink)
 *
 * The from-rules come first so that replies (SYN-ACKs, accepted
 * sockets, UDP replies sent from the address a request came to) leave by
 * the uplink they arrived on, whatever mark the listening socket got; a
 * new outgoing socket has no source address at its first lookup, so its
 * mark picks the table and, with it, the source.  While T_i has lost its
 * default route (the link went admin down), P+2 fails packets from ADDR_i
 * instead of letting them leave by another uplink with ADDR_i's source,
 * which that ISP drops: without NAT, nothing would rewrite it.
 *
 * An uplink gets a family's routes and rules only if it has an address of
 * that family (state.h: addr, addr6); rule P of a family only exists if
 * some uplink has.  An IPv6 gateway outside the uplink's prefix (not
 * link-local) gets a host route on the link first, as an IPv4 one does;
 * an uplink with an IPv6 address but no IPv6 gateway gets no IPv6
 * default, so its IPv6 sockets leave by the main table's.  With
 * last-resort unreachable each family also has "unreachable default" in
 * table state->unreachable_table and its fwmark rule at P+3.
 *
 * Routes and rules carry protocol MLB_RTPROT so they are recognisable
 * (`ip rule` shows "proto 77").  Removing them, and keeping them what the
 * record says, is route_reconcile.h's, above this.
 */
#ifndef MLB_ROUTE_H
#define MLB_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>

#include "error.h"
#include "route_nlconn.h"
#include "route_plan.h"
#include "state.h"

#define MLB_RTPROT 77

/* Resolved facts about one interface. */
struct mlb_link_info {
	int ifindex;
	bool has_addr4;
	struct in_addr addr;		/* first IPv4 address */
	unsigned prefixlen;
	bool has_gateway;		/* main table has an IPv4 default via it */
	struct in_addr gateway;
	bool has_addr6;
	struct in6_addr addr6;		/* first usable global IPv6 address */
	unsigned prefixlen6;
	bool has_gateway6;		/* main table has an IPv6 default via it */
	struct in6_addr gateway6;	/* often link-local (fe80::) */
	bool admin_up;			/* IFF_UP */
	bool carrier;			/* IFF_LOWER_UP */
};

/* Look up ifname: its index, its first IPv4 address, its first global
 * IPv6 address (not link-local, tentative, failed, deprecated or
 * temporary) and the gateways of the main table's default routes through
 * it (the lowest metric of each family).  Errors: interface does not
 * exist; has neither an IPv4 nor a global IPv6 address. */
int route_lookup_link(const char *ifname, struct mlb_link_info *out,
		      struct mlb_err *err);

/* Fail if any of the state's tables already holds a route, or a rule
 * already uses one of them (they belong to someone else), either family. */
int route_check_free(const struct mlb_state *state, struct mlb_err *err);

/* Add the tables (MLB_INSTALLED_ROUTES) and rules (MLB_INSTALLED_RULES)
 * described by state, setting those bits in state->installed as each part
 * completes.  On failure removes what it added and names the object. */
int route_install(struct mlb_state *state, struct mlb_err *err);

/* For route_reconcile.c, which compares the plan with the kernel */

/* Fails unless the calling thread is in the state's namespace: every
 * change is made where the thread is, so a thread left elsewhere would
 * change someone else's routing. */
int route_in_own_netns(const struct mlb_state *state, struct mlb_err *err);

/* Add (exclusively) or delete one object; -1 with c->kerr / c->nlerr set
 * on failure. */
int route_request(struct nlconn *c, const struct route_spec *s, bool add);
int rule_request(struct nlconn *c, const struct rule_spec *s, bool add);

#endif
