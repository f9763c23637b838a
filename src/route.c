/* route.c - policy routing over netlink with libnl-route-3 (see route.h).
 *
 * Every public call opens its own rtnetlink socket, so it acts on the
 * network namespace the calling thread is in at that moment.
 *
 * Dumps are parsed message by message (nl_msg_parse) rather than through
 * libnl caches: a cache merges objects with the same key, which would hide
 * e.g. a second default route appended with the same metric.
 *
 * Requests are acknowledged with the kernel's errno recorded by our own
 * error callback, so messages say "Network is unreachable" rather than
 * libnl's generic "Unspecific failure".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "route.h"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rtnl.h>
#include <netlink/route/rule.h>

/* ---- one rtnetlink conversation ------------------------------------ */

struct nlconn {
	struct nl_sock *sk;
	int kerr;		/* errno of the kernel's NLMSG_ERROR, or 0 */
	int nlerr;		/* libnl error code of the last call, or 0 */
};

static int record_kernel_error(struct sockaddr_nl *who, struct nlmsgerr *e,
			       void *arg)
{
	(void)who;
	*(int *)arg = -e->error;
	return NL_STOP;
}

static int conn_open(struct nlconn *c, struct mlb_err *err)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->sk = nl_socket_alloc();
	if (!c->sk)
		return mlb_fail(err, "netlink: out of memory");
	ret = nl_connect(c->sk, NETLINK_ROUTE);
	if (ret < 0) {
		nl_socket_free(c->sk);
		c->sk = NULL;
		return mlb_fail(err, "connecting to rtnetlink: %s",
				nl_geterror(ret));
	}
	nl_socket_modify_err_cb(c->sk, NL_CB_CUSTOM, record_kernel_error,
				&c->kerr);
	return 0;
}

static void conn_close(struct nlconn *c)
{
	nl_socket_free(c->sk);	/* also closes it */
	c->sk = NULL;
}

/* Why the last call failed: the kernel's own errno when it sent one. */
static const char *conn_why(const struct nlconn *c)
{
	return c->kerr ? strerror(c->kerr) : nl_geterror(c->nlerr);
}

/* The object a delete asked for was not there (already removed, or its
 * table or interface went away, taking it along). */
static bool conn_gone(const struct nlconn *c)
{
	if (c->kerr)
		return c->kerr == ENOENT || c->kerr == ESRCH;
	return c->nlerr == -NLE_OBJ_NOTFOUND;
}

/* Record the outcome of a libnl call; returns 0 or -1. */
static int conn_result(struct nlconn *c, int ret)
{
	c->nlerr = ret < 0 ? ret : 0;
	return ret < 0 ? -1 : 0;
}

/* Send a request (consuming msg) and wait for the kernel's answer. */
static int conn_request(struct nlconn *c, struct nl_msg *msg)
{
	int ret;

	c->kerr = 0;
	ret = nl_send_auto(c->sk, msg);
	nlmsg_free(msg);
	if (ret >= 0)
		ret = nl_wait_for_ack(c->sk);
	return conn_result(c, ret);
}

typedef void (*object_fn)(struct nl_object *obj, void *arg);

struct dump_ctx {
	object_fn fn;
	void *arg;
};

static void dump_object(struct nl_object *obj, void *arg)
{
	struct dump_ctx *d = arg;

	d->fn(obj, d->arg);
}

static int dump_message(struct nl_msg *msg, void *arg)
{
	nl_msg_parse(msg, dump_object, arg);
	return NL_OK;
}

/* Dump all IPv4 objects of one kind (RTM_GETROUTE, RTM_GETRULE,
 * RTM_GETADDR), calling fn for each parsed object. */
static int conn_dump(struct nlconn *c, int type, object_fn fn, void *arg)
{
	struct dump_ctx d = { .fn = fn, .arg = arg };
	struct nl_cb *sock_cb, *cb;
	int ret;

	c->kerr = 0;
	ret = nl_rtgen_request(c->sk, type, AF_INET, NLM_F_DUMP);
	if (ret < 0)
		return conn_result(c, ret);
	sock_cb = nl_socket_get_cb(c->sk);
	cb = nl_cb_clone(sock_cb);
	nl_cb_put(sock_cb);
	if (!cb)
		return conn_result(c, -NLE_NOMEM);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_message, &d);
	ret = nl_recvmsgs(c->sk, cb);
	nl_cb_put(cb);
	return conn_result(c, ret);
}

/* ---- small helpers ---------------------------------------------------- */

/* An nl_addr for an IPv4 address (network byte order) and prefix. */
static struct nl_addr *addr4(__u32 addr, unsigned prefixlen)
{
	struct nl_addr *a = nl_addr_build(AF_INET, &addr, sizeof(addr));

	if (a)
		nl_addr_set_prefixlen(a, (int)prefixlen);
	return a;
}

/* The IPv4 address in a, or false if a is not one. */
static bool get_addr4(struct nl_addr *a, __u32 *out)
{
	if (!a || nl_addr_get_family(a) != AF_INET ||
	    nl_addr_get_len(a) != sizeof(*out))
		return false;
	memcpy(out, nl_addr_get_binary_addr(a), sizeof(*out));
	return true;
}

static __u32 prefix_mask(unsigned prefixlen)
{
	return prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;
}

/* Dotted quad of a network-byte-order address, in buf. */
static const char *ip4(__u32 addr, char *buf)
{
	struct in_addr a = { .s_addr = addr };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static bool is_our_table(const struct mlb_state *state, __u32 table)
{
	for (__u32 i = 0; i < state->nuplinks && i < MLB_MAX_UPLINKS; i++)
		if (state->uplinks[i].table == table)
			return true;
	return state->last_resort == MLB_LAST_RESORT_UNREACHABLE &&
	       state->unreachable_table == table;
}

/* ---- route_lookup_link ------------------------------------------------ */

struct addr_search {
	int ifindex;
	bool found;
	__u32 addr;
	unsigned prefixlen;
};

/* Keeps the first IPv4 address of the interface, in dump order (the
 * kernel lists primary addresses before secondaries). */
static void addr_search_one(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct addr_search *s = arg;

	if (s->found || rtnl_addr_get_family(a) != AF_INET ||
	    rtnl_addr_get_ifindex(a) != s->ifindex ||
	    !get_addr4(rtnl_addr_get_local(a), &s->addr))
		return;
	s->prefixlen = (unsigned)rtnl_addr_get_prefixlen(a);
	s->found = true;
}

struct gateway_search {
	int ifindex;
	bool found;
	__u32 gateway;
	__u32 metric;
};

/* Considers one route: a main-table IPv4 default with a nexthop through
 * the interface that has a gateway.  Keeps the lowest metric. */
static void gateway_search_one(struct nl_object *obj, void *arg)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct gateway_search *s = arg;
	struct nl_addr *dst = rtnl_route_get_dst(r);
	__u32 metric = rtnl_route_get_priority(r);

	if (rtnl_route_get_family(r) != AF_INET ||
	    rtnl_route_get_table(r) != RT_TABLE_MAIN ||
	    rtnl_route_get_type(r) != RTN_UNICAST ||
	    rtnl_route_get_tos(r) != 0 ||
	    !dst || nl_addr_get_prefixlen(dst) != 0)
		return;
	if (s->found && metric >= s->metric)
		return;
	for (int i = 0; i < rtnl_route_get_nnexthops(r); i++) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);
		__u32 gw;

		if (rtnl_route_nh_get_ifindex(nh) == s->ifindex &&
		    get_addr4(rtnl_route_nh_get_gateway(nh), &gw) && gw) {
			s->found = true;
			s->gateway = gw;
			s->metric = metric;
			return;
		}
	}
}

#ifndef IFF_LOWER_UP		/* in <linux/if.h>, which clashes with <net/if.h> */
#define IFF_LOWER_UP 0x10000
#endif

/* The index and state of ifname, asked of the kernel by name. */
static int link_index(struct nlconn *c, const char *ifname, int *ifindex,
		      bool *admin_up, bool *carrier, struct mlb_err *err)
{
	struct rtnl_link *link = NULL;

	if (!ifname[0] || strlen(ifname) >= IF_NAMESIZE)
		return mlb_fail(err, "interface \"%s\" does not exist",
				ifname);
	/* libnl reports this one's errors through its own code only. */
	c->kerr = 0;
	if (conn_result(c, rtnl_link_get_kernel(c->sk, 0, ifname, &link))) {
		if (c->nlerr == -NLE_NODEV || conn_gone(c))
			return mlb_fail(err, "interface \"%s\" does not exist",
					ifname);
		return mlb_fail(err, "looking up interface \"%s\": %s",
				ifname, conn_why(c));
	}
	*ifindex = rtnl_link_get_ifindex(link);
	*admin_up = rtnl_link_get_flags(link) & IFF_UP;
	*carrier = rtnl_link_get_flags(link) & IFF_LOWER_UP;
	rtnl_link_put(link);
	return 0;
}

int route_lookup_link(const char *ifname, struct mlb_link_info *out,
		      struct mlb_err *err)
{
	struct addr_search as = { 0 };
	struct gateway_search gs = { 0 };
	struct nlconn c;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (conn_open(&c, err))
		return -1;
	if (link_index(&c, ifname, &out->ifindex, &out->admin_up,
		       &out->carrier, err))
		goto out;

	as.ifindex = out->ifindex;
	if (conn_dump(&c, RTM_GETADDR, addr_search_one, &as)) {
		mlb_fail(err, "listing addresses: %s", conn_why(&c));
		goto out;
	}
	if (!as.found) {
		mlb_fail(err, "interface \"%s\" has no IPv4 address", ifname);
		goto out;
	}
	out->addr.s_addr = as.addr;
	out->prefixlen = as.prefixlen;

	gs.ifindex = out->ifindex;
	if (conn_dump(&c, RTM_GETROUTE, gateway_search_one, &gs)) {
		mlb_fail(err, "listing routes: %s", conn_why(&c));
		goto out;
	}
	out->has_gateway = gs.found;
	out->gateway.s_addr = gs.gateway;
	ret = 0;
out:
	conn_close(&c);
	return ret;
}

/* ---- route_check_free -------------------------------------------------- */

struct table_search {
	const struct mlb_state *state;
	bool found;
	__u32 table;
	__u32 rule_prio;	/* for a rule: its priority */
};

static void table_search_route(struct nl_object *obj, void *arg)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct table_search *s = arg;

	if (!s->found && rtnl_route_get_family(r) == AF_INET &&
	    is_our_table(s->state, rtnl_route_get_table(r))) {
		s->found = true;
		s->table = rtnl_route_get_table(r);
	}
}

static void table_search_rule(struct nl_object *obj, void *arg)
{
	struct rtnl_rule *r = (struct rtnl_rule *)obj;
	struct table_search *s = arg;

	if (!s->found && rtnl_rule_get_family(r) == AF_INET &&
	    is_our_table(s->state, rtnl_rule_get_table(r))) {
		s->found = true;
		s->table = rtnl_rule_get_table(r);
		s->rule_prio = rtnl_rule_get_prio(r);
	}
}

int route_check_free(const struct mlb_state *state, struct mlb_err *err)
{
	struct table_search routes = { .state = state };
	struct table_search rules = { .state = state };
	struct nlconn c;
	int ret = -1;

	if (conn_open(&c, err))
		return -1;
	if (conn_dump(&c, RTM_GETROUTE, table_search_route, &routes)) {
		mlb_fail(err, "listing routes: %s", conn_why(&c));
		goto out;
	}
	if (routes.found) {
		mlb_fail(err, "table %u is already in use (it has routes); "
			 "choose another --table-base", routes.table);
		goto out;
	}
	if (conn_dump(&c, RTM_GETRULE, table_search_rule, &rules)) {
		mlb_fail(err, "listing rules: %s", conn_why(&c));
		goto out;
	}
	if (rules.found) {
		mlb_fail(err, "table %u is already in use (rule %u looks it "
			 "up); choose another --table-base", rules.table,
			 rules.rule_prio);
		goto out;
	}
	ret = 0;
out:
	conn_close(&c);
	return ret;
}

/* ---- what an attachment installs ---------------------------------------
 *
 * Install and remove work from one list of objects built from the state,
 * so remove deletes exactly what install added, in reverse order.
 */

struct route_spec {
	__u32 table;
	__u32 dst;		/* network byte order */
	unsigned dst_len;
	__u32 gateway;		/* 0: directly on the link */
	__u32 src;		/* preferred source address */
	int ifindex;
	unsigned char scope;
	bool unreachable;	/* "unreachable default": no nexthop */
};

struct rule_spec {
	__u32 prio;
	__u32 table;
	bool suppress_default;	/* suppress_prefixlength 0 */
	bool has_mark;
	__u32 mark, mask;
	__u32 src;		/* from SRC/32; 0: from all */
};

/* Per uplink: connected route, host route to the gateway, default; and
 * the last-resort unreachable route. */
#define MAX_ROUTES (3 * MLB_MAX_UPLINKS + 1)
/* The main-lookup rule, then a fwmark and a from rule per uplink, and the
 * last-resort fwmark rule. */
#define MAX_RULES (2 + 2 * MLB_MAX_UPLINKS)

struct plan {
	struct route_spec routes[MAX_ROUTES];
	unsigned nroutes;
	struct rule_spec rules[MAX_RULES];
	unsigned nrules;
};

static void plan_route(struct plan *p, const struct mlb_state_uplink *u,
		       __u32 dst, unsigned dst_len, __u32 gateway,
		       unsigned char scope)
{
	p->routes[p->nroutes++] = (struct route_spec){
		.table = u->table, .dst = dst, .dst_len = dst_len,
		.gateway = gateway, .src = u->addr, .ifindex = (int)u->ifindex,
		.scope = scope,
	};
}

static void plan_uplink_routes(struct plan *p,
			       const struct mlb_state_uplink *u)
{
	unsigned len = u->prefixlen;
	__u32 mask = prefix_mask(len);
	bool connected = len > 0 && len < 32;

	/* The uplink's own subnet, so its neighbours (and usually the
	 * gateway) are reachable within the table.  A /32 has none. */
	if (connected)
		plan_route(p, u, u->addr & mask, len, 0, RT_SCOPE_LINK);
	/* A gateway outside that subnet (a /32, or an "onlink" gateway)
	 * needs a host route on the link, or the kernel refuses the
	 * default route through it as unreachable. */
	if (u->gateway &&
	    (!connected || (u->gateway & mask) != (u->addr & mask)))
		plan_route(p, u, u->gateway, 32, 0, RT_SCOPE_LINK);
	/* No gateway at all (point-to-point links): default dev IF. */
	plan_route(p, u, 0, 0, u->gateway,
		   u->gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
}

static int build_plan(const struct mlb_state *state, struct plan *p,
		      struct mlb_err *err)
{
	__u32 n = state->nuplinks, prio = state->priority;

	if (n > MLB_MAX_UPLINKS)
		return mlb_fail(err, "%u uplinks in the state, at most %d are "
				"supported", n, MLB_MAX_UPLINKS);
	p->nroutes = p->nrules = 0;
	for (__u32 i = 0; i < n; i++)
		plan_uplink_routes(p, &state->uplinks[i]);

	/* Marked sockets still reach every connected network: main is
	 * consulted first, but its default route is ignored. */
	p->rules[p->nrules++] = (struct rule_spec){
		.prio = prio, .table = RT_TABLE_MAIN, .suppress_default = true,
	};
	for (__u32 i = 0; i < n; i++)
		p->rules[p->nrules++] = (struct rule_spec){
			.prio = prio + 1, .table = state->uplinks[i].table,
			.has_mark = true, .mark = state->uplinks[i].mark,
			.mask = state->mark_mask,
		};
	/* Replies and sockets bound to an uplink's address leave by it. */
	for (__u32 i = 0; i < n; i++)
		p->rules[p->nrules++] = (struct rule_spec){
			.prio = prio + 2, .table = state->uplinks[i].table,
			.src = state->uplinks[i].addr,
		};
	/* last-resort=unreachable: sockets given this mark while every
	 * uplink is down fail at once instead of leaving by main. */
	if (state->last_resort == MLB_LAST_RESORT_UNREACHABLE) {
		p->routes[p->nroutes++] = (struct route_spec){
			.table = state->unreachable_table,
			.scope = RT_SCOPE_UNIVERSE, .unreachable = true,
		};
		p->rules[p->nrules++] = (struct rule_spec){
			.prio = prio + 1, .table = state->unreachable_table,
			.has_mark = true, .mark = state->unreachable_mark,
			.mask = state->mark_mask,
		};
	}
	return 0;
}

static void describe_route(const struct route_spec *s, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN], dev[IF_NAMESIZE];

	if (!if_indextoname((unsigned)s->ifindex, dev))
		snprintf(dev, sizeof(dev), "#%d", s->ifindex);
	if (s->unreachable)
		snprintf(buf, len, "unreachable default route to table %u",
			 s->table);
	else if (s->dst_len == 0 && s->gateway)
		snprintf(buf, len, "default route via %s to table %u",
			 ip4(s->gateway, a), s->table);
	else if (s->dst_len == 0)
		snprintf(buf, len, "default route dev %s to table %u", dev,
			 s->table);
	else
		snprintf(buf, len, "route %s/%u dev %s to table %u",
			 ip4(s->dst, a), s->dst_len, dev, s->table);
}

static void describe_rule(const struct rule_spec *s, char *buf, size_t len)
{
	char a[INET_ADDRSTRLEN];

	if (s->suppress_default)
		snprintf(buf, len, "rule %u (lookup main "
			 "suppress_prefixlength 0)", s->prio);
	else if (s->has_mark)
		snprintf(buf, len, "rule %u (fwmark 0x%x/0x%x lookup %u)",
			 s->prio, s->mark, s->mask, s->table);
	else
		snprintf(buf, len, "rule %u (from %s lookup %u)", s->prio,
			 ip4(s->src, a), s->table);
}

/* ---- adding and deleting one object ---------------------------------- */

static struct rtnl_route *route_object(const struct route_spec *s)
{
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = addr4(s->dst, s->dst_len);
	struct nl_addr *src = addr4(s->src, 32);
	struct nl_addr *gw = s->gateway ? addr4(s->gateway, 32) : NULL;
	bool ok = r && nh && dst && src && (gw || !s->gateway);

	if (ok) {
		rtnl_route_set_family(r, AF_INET);
		rtnl_route_set_table(r, s->table);
		rtnl_route_set_protocol(r, MLB_RTPROT);
		rtnl_route_set_type(r, s->unreachable ? RTN_UNREACHABLE :
							RTN_UNICAST);
		rtnl_route_set_scope(r, s->scope);
		ok = rtnl_route_set_dst(r, dst) == 0 &&
		     (s->unreachable || rtnl_route_set_pref_src(r, src) == 0);
	}
	if (ok && !s->unreachable) {
		rtnl_route_nh_set_ifindex(nh, s->ifindex);
		if (gw)
			rtnl_route_nh_set_gateway(nh, gw);
		rtnl_route_add_nexthop(r, nh);	/* r owns nh now */
		nh = NULL;
	}
	/* The route holds its own references to the addresses. */
	nl_addr_put(dst);
	nl_addr_put(src);
	nl_addr_put(gw);
	if (nh)
		rtnl_route_nh_free(nh);
	if (!ok && r) {
		rtnl_route_put(r);
		r = NULL;
	}
	return r;
}

static struct rtnl_rule *rule_object(const struct rule_spec *s)
{
	struct rtnl_rule *r = rtnl_rule_alloc();
	struct nl_addr *src = NULL;

	if (!r)
		return NULL;
	rtnl_rule_set_family(r, AF_INET);
	rtnl_rule_set_prio(r, s->prio);
	rtnl_rule_set_table(r, s->table);
	rtnl_rule_set_action(r, FR_ACT_TO_TBL);
	rtnl_rule_set_protocol(r, MLB_RTPROT);
	if (s->has_mark) {
		rtnl_rule_set_mark(r, s->mark);
		rtnl_rule_set_mask(r, s->mask);
	}
	if (s->src) {
		src = addr4(s->src, 32);
		if (!src || rtnl_rule_set_src(r, src)) {
			nl_addr_put(src);
			rtnl_rule_put(r);
			return NULL;
		}
		nl_addr_put(src);
	}
	return r;
}

/* Add (or delete) one route; -1 with c->kerr / c->nlerr set on failure.
 * Adding is exclusive: an identical route already there is an error. */
static int route_request(struct nlconn *c, const struct route_spec *s,
			 bool add)
{
	struct rtnl_route *r = route_object(s);
	struct nl_msg *msg = NULL;
	int ret;

	c->kerr = 0;
	if (!r)
		return conn_result(c, -NLE_NOMEM);
	ret = add ? rtnl_route_build_add_request(r, NLM_F_EXCL, &msg) :
		    rtnl_route_build_del_request(r, 0, &msg);
	rtnl_route_put(r);
	if (ret < 0)
		return conn_result(c, ret);
	return conn_request(c, msg);
}

/* Add (or delete) one rule, exclusively like route_request.  libnl has
 * no setter for suppress_prefixlength, so that attribute is appended to
 * the message it builds.  A delete names every attribute we set, so the
 * kernel only matches our own rule, never a user's rule at the same
 * priority. */
static int rule_request(struct nlconn *c, const struct rule_spec *s, bool add)
{
	struct rtnl_rule *r = rule_object(s);
	struct nl_msg *msg = NULL;
	int ret;

	c->kerr = 0;
	if (!r)
		return conn_result(c, -NLE_NOMEM);
	ret = add ? rtnl_rule_build_add_request(r, NLM_F_EXCL, &msg) :
		    rtnl_rule_build_delete_request(r, 0, &msg);
	rtnl_rule_put(r);
	if (ret < 0)
		return conn_result(c, ret);
	if (s->suppress_default &&
	    (ret = nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, 0)) < 0) {
		nlmsg_free(msg);
		return conn_result(c, ret);
	}
	return conn_request(c, msg);
}

/* Delete routes[0..n) in reverse order; missing ones are fine.  Returns
 * -1 and describes the first failure if one could not be deleted. */
static int delete_routes(struct nlconn *c, const struct plan *p, unsigned n,
			 struct mlb_err *err)
{
	char what[128];
	int ret = 0;

	while (n-- > 0) {
		if (route_request(c, &p->routes[n], false) == 0 ||
		    conn_gone(c))
			continue;
		if (ret == 0) {		/* keep going; report the first */
			describe_route(&p->routes[n], what, sizeof(what));
			ret = mlb_fail(err, "removing %s: %s", what,
				       conn_why(c));
		}
	}
	return ret;
}

static int delete_rules(struct nlconn *c, const struct plan *p, unsigned n,
			struct mlb_err *err)
{
	char what[128];
	int ret = 0;

	while (n-- > 0) {
		if (rule_request(c, &p->rules[n], false) == 0 ||
		    conn_gone(c))
			continue;
		if (ret == 0) {		/* keep going; report the first */
			describe_rule(&p->rules[n], what, sizeof(what));
			ret = mlb_fail(err, "removing %s: %s", what,
				       conn_why(c));
		}
	}
	return ret;
}

/* ---- route_install / route_remove -------------------------------------- */

/* Undo the first nroutes routes and nrules rules after a failed install,
 * keeping err's message.  A part whose undo failed stays marked in
 * state->installed, so a later route_remove can finish the job. */
static void roll_back(struct nlconn *c, struct mlb_state *state,
		      const struct plan *p, unsigned nroutes, unsigned nrules,
		      struct mlb_err *err)
{
	struct mlb_err undo = { { 0 } };
	__u32 left = 0;

	if (delete_rules(c, p, nrules, &undo))
		left |= MLB_INSTALLED_RULES;
	if (delete_routes(c, p, nroutes, &undo))
		left |= MLB_INSTALLED_ROUTES;
	state->installed &= ~(__u32)(MLB_INSTALLED_ROUTES |
				     MLB_INSTALLED_RULES);
	state->installed |= left;
	if (left) {
		size_t n = strlen(err->msg);

		snprintf(err->msg + n, sizeof(err->msg) - n,
			 " (and undoing failed: %s)", undo.msg);
	}
}

int route_install(struct mlb_state *state, struct mlb_err *err)
{
	struct plan plan;
	unsigned nroutes = 0, nrules = 0;
	char what[128];
	struct nlconn c;

	if (build_plan(state, &plan, err) || conn_open(&c, err))
		return -1;

	for (; nroutes < plan.nroutes; nroutes++)
		if (route_request(&c, &plan.routes[nroutes], true)) {
			describe_route(&plan.routes[nroutes], what,
				       sizeof(what));
			goto fail;
		}
	state->installed |= MLB_INSTALLED_ROUTES;

	for (; nrules < plan.nrules; nrules++)
		if (rule_request(&c, &plan.rules[nrules], true)) {
			describe_rule(&plan.rules[nrules], what, sizeof(what));
			goto fail;
		}
	state->installed |= MLB_INSTALLED_RULES;

	conn_close(&c);
	return 0;

fail:
	mlb_fail(err, "adding %s: %s", what, conn_why(&c));
	roll_back(&c, state, &plan, nroutes, nrules, err);
	conn_close(&c);
	return -1;
}

int route_remove(const struct mlb_state *state, struct mlb_err *err)
{
	struct plan plan;
	struct nlconn c;
	int ret = 0;

	if (!(state->installed & (MLB_INSTALLED_ROUTES | MLB_INSTALLED_RULES)))
		return 0;
	if (build_plan(state, &plan, err) || conn_open(&c, err))
		return -1;
	/* Rules first, so no traffic is steered into a half-emptied table. */
	if ((state->installed & MLB_INSTALLED_RULES) &&
	    delete_rules(&c, &plan, plan.nrules, err))
		ret = -1;
	if ((state->installed & MLB_INSTALLED_ROUTES) &&
	    delete_routes(&c, &plan, plan.nroutes, ret ? NULL : err))
		ret = -1;
	conn_close(&c);
	return ret;
}

/* ---- route_update_uplink ----------------------------------------------- */

/* The plan of one uplink alone: its routes and its from-rule. */
static void uplink_plan(const struct mlb_state *state, unsigned i,
			struct plan *p)
{
	p->nroutes = p->nrules = 0;
	plan_uplink_routes(p, &state->uplinks[i]);
	p->rules[p->nrules++] = (struct rule_spec){
		.prio = state->priority + 2, .table = state->uplinks[i].table,
		.src = state->uplinks[i].addr,
	};
}

int route_update_uplink(const struct mlb_state *old,
			const struct mlb_state *new, unsigned i,
			struct mlb_err *err)
{
	struct plan before, after;
	char what[128];
	struct nlconn c;
	int ret = 0;

	if (i >= old->nuplinks || i >= new->nuplinks)
		return mlb_fail(err, "no uplink %u", i);
	if (conn_open(&c, err))
		return -1;
	uplink_plan(old, i, &before);
	uplink_plan(new, i, &after);
	/* The table's routes cannot be made before they are broken: the new
	 * default route has the old one's key.  The gap is one uplink's
	 * table for a few netlink round trips. */
	delete_rules(&c, &before, before.nrules, NULL);
	delete_routes(&c, &before, before.nroutes, NULL);
	for (unsigned r = 0; r < after.nroutes && !ret; r++)
		if (route_request(&c, &after.routes[r], true) &&
		    c.kerr != EEXIST) {
			describe_route(&after.routes[r], what, sizeof(what));
			ret = mlb_fail(err, "adding %s: %s", what,
				       conn_why(&c));
		}
	for (unsigned r = 0; r < after.nrules && !ret; r++)
		if (rule_request(&c, &after.rules[r], true) &&
		    c.kerr != EEXIST) {
			describe_rule(&after.rules[r], what, sizeof(what));
			ret = mlb_fail(err, "adding %s: %s", what,
				       conn_why(&c));
		}
	conn_close(&c);
	return ret;
}
