/* route_reconcile.h - an attachment's routing kept what its record says,
 * and removed whatever its shape (route_reconcile.c, above route.c).
 *
 * The kernel deletes an uplink's routes when its interface goes admin
 * down or away, or loses the routes' source address, and never puts them
 * back: marked sockets then find an empty table and leave by main.
 * route_reconcile compares the objects the state asks for (what
 * route_install adds) with what the namespace holds of ours (as
 * route_remove sees them), deletes ours that are not asked for (an old
 * gateway's route, a stale from-rule) and adds what is missing.
 */
#ifndef MLB_ROUTE_RECONCILE_H
#define MLB_ROUTE_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "route.h"
#include "state.h"

/* Remove the attachment's routing, whatever shape it is in: every route
 * of protocol MLB_RTPROT in the state's tables, and every rule of that
 * protocol at priorities P..P+3 that looks one of those tables up (or
 * main, at P), so that what a crash, a half-finished change or an older
 * rule order left goes too.  Nothing without MLB_RTPROT, or outside
 * those tables and priorities, is touched.  Does nothing unless
 * state->installed has the routes or rules bit.  Returns -1 if something
 * could not be removed. */
int route_remove(const struct mlb_state *state, struct mlb_err *err);


/* One uplink's part: its table, and the rules that look it up. */
struct route_uplink_check {
	unsigned missing[2];		/* objects missing: IPv4, IPv6 */
	unsigned restored_routes;	/* added back by this reconcile */
	unsigned restored_rules;
	unsigned removed;		/* stale objects of its table deleted */
	bool add_failed;		/* adding something failed */
	char problem[192];		/* the first missing object, and why */
};

struct route_check {
	struct route_uplink_check up[MLB_MAX_UPLINKS];
	/* The rest: the main-lookup rules and the last resort's. */
	struct route_uplink_check shared;
};

/* Compare the namespace's routing with the state's and, with fix, make
 * it so.  Adding can fail while a link is down: that is reported in the
 * uplink's part of out (which says what is still missing after), not as
 * an error.  Returns -1 only when the kernel cannot be asked at all. */
int route_reconcile(const struct mlb_state *state, bool fix,
		    struct route_check *out, struct mlb_err *err);

/* Whether uplink i's objects of one family (or both: AF_UNSPEC) are all
 * there. */
bool route_uplink_complete(const struct route_check *c, unsigned i,
			   int family);

/* Whether everything of the state is there. */
bool route_complete(const struct mlb_state *state,
		    const struct route_check *c);

/* "table 7101 restored (2 routes, 1 rule)" when the reconcile changed
 * something of the part; false if it did not. */
bool route_describe_repair(const struct route_uplink_check *c, __u32 table,
			   char *buf, size_t len);

/* Follow what the kernel says of the uplink's interface now into u: its
 * index (an interface deleted and created again has a new one), and each
 * family's address and gateway while the link has an address of that
 * family (a family is never added or dropped here, and a given gateway
 * is never replaced). */
void route_follow_link(struct mlb_state_uplink *u,
		       const struct mlb_link_info *link);

#endif
