/* route_plan.h - what an attachment's routing should be, as data: the
 * routes and rules its record asks for (route.h shows their shape), and
 * the words that name one of them.  Computed from the record alone, no
 * netlink: route.c installs a plan, route_reconcile.c compares one with
 * the kernel.
 */
#ifndef MLB_ROUTE_PLAN_H
#define MLB_ROUTE_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"
#include "error.h"
#include "state.h"

struct route_spec {
	int family;
	__u32 table;
	__u32 dst[4];
	unsigned dst_len;
	__u32 gateway[4];	/* zero: directly on the link */
	__u32 src[4];		/* preferred source address */
	int ifindex;
	unsigned char scope;
	bool unreachable;	/* "unreachable default": no nexthop */
};

struct rule_spec {
	int family;
	__u32 prio;
	__u32 table;
	bool suppress_default;	/* suppress_prefixlength 0 */
	bool has_mark;
	__u32 mark, mask;
	__u32 src[4];		/* from SRC (a host); zero: from all */
	/* "from SRC unreachable": no table looked up.  table still names
	 * the uplink whose address SRC is, to report it with that uplink;
	 * the kernel is not given it. */
	bool unreachable;
};

/* Per family and uplink: connected route, host route to the gateway,
 * default; and per family the last-resort unreachable route. */
#define MAX_ROUTES (NFAMILIES * (3 * MLB_MAX_UPLINKS + 1))
/* Per family: the main-lookup rule, then a from, a from-unreachable and a
 * fwmark rule per uplink, and the last-resort fwmark rule. */
#define MAX_RULES (NFAMILIES * (2 + 3 * MLB_MAX_UPLINKS))

struct plan {
	struct route_spec routes[MAX_ROUTES];
	unsigned nroutes;
	struct rule_spec rules[MAX_RULES];
	unsigned nrules;
};

/* Everything the state asks for, both families, in install order. */
int build_plan(const struct mlb_state *state, struct plan *p,
	       struct mlb_err *err);

/* Whether table is one of the state's (an uplink's or the last resort's). */
bool is_our_table(const struct mlb_state *state, __u32 table);

/* One line naming the object: "default route via 10.0.1.1 to table 7101". */
void describe_route(const struct route_spec *s, char *buf, size_t len);
void describe_rule(const struct rule_spec *s, char *buf, size_t len);

#endif
