/* route.h - policy routing over netlink (libnl-route-3): looking up an
 * uplink's interface, address and gateway, and installing / removing the
 * per-uplink tables and the ip rules of one attachment.
 *
 * Everything acts on the network namespace the calling thread is in
 * (see netns.h).  What it installs, for uplinks i = 0..n-1, with
 * P = state->priority:
 *
 *   table T_i:  ADDR_i/PREFIX dev IF_i scope link src ADDR_i
 *               default via GW_i dev IF_i src ADDR_i
 *   rule  P:    from all lookup main suppress_prefixlength 0
 *   rule  P+1:  fwmark M_i/MASK lookup T_i       (one per uplink)
 *   rule  P+2:  from ADDR_i lookup T_i           (one per uplink)
 *
 * Routes and rules carry protocol MLB_RTPROT so they are recognisable
 * (`ip rule` shows "proto 77").
 */
#ifndef MLB_ROUTE_H
#define MLB_ROUTE_H

#include <stdbool.h>
#include <netinet/in.h>

#include "error.h"
#include "state.h"

#define MLB_RTPROT 77

/* Resolved facts about one interface. */
struct mlb_link_info {
	int ifindex;
	struct in_addr addr;		/* first IPv4 address */
	unsigned prefixlen;
	bool has_gateway;		/* main table has a default via it */
	struct in_addr gateway;
	bool admin_up;			/* IFF_UP */
	bool carrier;			/* IFF_LOWER_UP */
};

/* Look up ifname: its index, its first IPv4 address and the gateway of
 * the main table's default route through it.  Errors: interface does not
 * exist; has no IPv4 address. */
int route_lookup_link(const char *ifname, struct mlb_link_info *out,
		      struct mlb_err *err);

/* Fail if any of the state's tables already holds a route, or a rule
 * already uses one of them (they belong to someone else). */
int route_check_free(const struct mlb_state *state, struct mlb_err *err);

/* Add the tables (MLB_INSTALLED_ROUTES) and rules (MLB_INSTALLED_RULES)
 * described by state, setting those bits in state->installed as each part
 * completes.  On failure removes what it added and names the object. */
int route_install(struct mlb_state *state, struct mlb_err *err);

/* Move uplink i from what old says to what new says (its gateway or
 * address changed, as DHCP does): its table's routes and its from-rule.
 * The other uplinks and rules are not touched. */
int route_update_uplink(const struct mlb_state *old,
			const struct mlb_state *new, unsigned i,
			struct mlb_err *err);

/* Remove the routes and rules state->installed says were added.  Objects
 * already gone are not an error.  Returns -1 if something that exists
 * could not be removed. */
int route_remove(const struct mlb_state *state, struct mlb_err *err);

#endif
