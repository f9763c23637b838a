/* route_internal.h - what route.c, route_nlconn.c and route_reconcile.c
 * share: one rtnetlink conversation, the plan of objects an attachment installs
 * (built from its state), and adding, deleting and naming one of them.
 * Not part of route.h: nothing outside the routing module needs it.
 */
#ifndef MLB_ROUTE_INTERNAL_H
#define MLB_ROUTE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/netlink.h>

#include "error.h"
#include "state.h"

struct nl_msg;

/* ---- one rtnetlink conversation ---------------------------------------- */

struct nlconn {
	struct nl_sock *sk;
	int kerr;		/* errno of the kernel's NLMSG_ERROR, or 0 */
	int nlerr;		/* libnl error code of the last call, or 0 */
};

int conn_open(struct nlconn *c, struct mlb_err *err);
void conn_close(struct nlconn *c);
/* Why the last call failed: the kernel's own errno when it sent one. */
const char *conn_why(const struct nlconn *c);
/* The object a delete asked for was not there. */
bool conn_gone(const struct nlconn *c);
/* Record the outcome of a libnl call; returns 0 or -1. */
int conn_result(struct nlconn *c, int ret);
/* Send a request (consuming msg) and wait for the kernel's answer. */
int conn_request(struct nlconn *c, struct nl_msg *msg);

/* Dump all objects of one kind (RTM_GETROUTE, RTM_GETRULE, RTM_GETADDR)
 * and one family, calling fn for each object libnl parsed. */
struct nl_object;
typedef void (*object_fn)(struct nl_object *obj, void *arg);
int conn_dump(struct nlconn *c, int type, int family, object_fn fn,
	      void *arg);

/* Dump all objects of one kind and family, calling fn with each message
 * as the kernel sent it (for what libnl does not parse, and to send an
 * object back exactly as it is). */
typedef void (*raw_fn)(const struct nlmsghdr *h, void *arg);
int conn_dump_raw(struct nlconn *c, int type, int family, raw_fn fn,
		  void *arg);
/* The routes of one family, those of one protocol only where the kernel
 * can filter (fn must still check). */
int conn_dump_routes(struct nlconn *c, int family, unsigned char protocol,
		     raw_fn fn, void *arg);

/* ---- the objects of an attachment -------------------------------------- */

#define NFAMILIES 2
/* The families an uplink may carry, in the order they are set up. */
extern const int families[NFAMILIES];

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
/* Fails unless the calling thread is in the state's namespace: every
 * change is made where the thread is, so a thread left elsewhere would
 * change someone else's routing. */
int route_in_own_netns(const struct mlb_state *state, struct mlb_err *err);

int build_plan(const struct mlb_state *state, struct plan *p,
	       struct mlb_err *err);

/* Whether table is one of the state's (an uplink's or the last resort's). */
bool is_our_table(const struct mlb_state *state, __u32 table);

unsigned addr_bits(int family);
/* An address as text, in buf (INET6_ADDRSTRLEN bytes). */
const char *addr_str(int family, const __u32 *a, char *buf);
/* "IPv6 " before what names an IPv6 object whose text does not show it. */
const char *family_word(int family);

/* One line naming the object: "default route via 10.0.1.1 to table 7101". */
void describe_route(const struct route_spec *s, char *buf, size_t len);
void describe_rule(const struct rule_spec *s, char *buf, size_t len);

/* Add (exclusively) or delete one object; -1 with c->kerr / c->nlerr set
 * on failure. */
int route_request(struct nlconn *c, const struct route_spec *s, bool add);
int rule_request(struct nlconn *c, const struct rule_spec *s, bool add);

#endif
