/* route.c - policy routing over netlink with libnl-route-3 (see route.h):
 * looking up an uplink's link, checking that our tables are free, and
 * installing the plan of what an attachment needs (route_plan.c).  The
 * netlink conversation is in route_nlconn.c, the comparison with what the
 * kernel holds (reconcile, removal) in route_reconcile.c.
 *
 * Every public call opens its own rtnetlink socket, so it acts on the
 * network namespace the calling thread is in at that moment.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "addr.h"
#include "netns.h"
#include "route.h"
#include "route_nlconn.h"
#include "route_plan.h"

#include <linux/fib_rules.h>
#include <linux/netlink.h>
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


/* ---- addresses as libnl has them -------------------------------------- */

/* An nl_addr for an address and prefix. */
static struct nl_addr *nl_addr_of(int family, const __u32 *a,
				  unsigned prefixlen)
{
	struct nl_addr *n = nl_addr_build(family, a, addr_bits(family) / 8);

	if (n)
		nl_addr_set_prefixlen(n, (int)prefixlen);
	return n;
}

/* The address in n if it is of family (out zero-filled), else false. */
static bool get_addr(struct nl_addr *n, int family, __u32 *out)
{
	unsigned len = addr_bits(family) / 8;

	if (!n || nl_addr_get_family(n) != family ||
	    nl_addr_get_len(n) != len)
		return false;
	memset(out, 0, 4 * sizeof(*out));
	memcpy(out, nl_addr_get_binary_addr(n), len);
	return true;
}

/* ---- route_lookup_link ------------------------------------------------ */

struct addr_search {
	int ifindex;
	int family;
	bool found;
	__u32 addr[4];
	unsigned prefixlen;
};

/* Whether an address may be an uplink's: every IPv4 address; for IPv6
 * only a global one that is usable now and meant for new connections
 * (not link-local, tentative, failed, deprecated or a temporary privacy
 * address, which comes and goes). */
static bool usable_addr(struct rtnl_addr *a, int family)
{
	const unsigned unusable = IFA_F_TENTATIVE | IFA_F_DADFAILED |
				  IFA_F_DEPRECATED | IFA_F_TEMPORARY;

	if (family == AF_INET)
		return true;
	return rtnl_addr_get_scope(a) == RT_SCOPE_UNIVERSE &&
	       !(rtnl_addr_get_flags(a) & unusable);
}

/* Keeps the first usable address of the interface, in dump order (the
 * kernel lists IPv4 primary addresses before secondaries). */
static void addr_search_one(struct nl_object *obj, void *arg)
{
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct addr_search *s = arg;

	if (s->found || rtnl_addr_get_family(a) != s->family ||
	    rtnl_addr_get_ifindex(a) != s->ifindex ||
	    !usable_addr(a, s->family) ||
	    !get_addr(rtnl_addr_get_local(a), s->family, s->addr))
		return;
	s->prefixlen = (unsigned)rtnl_addr_get_prefixlen(a);
	s->found = true;
}

struct gateway_search {
	int ifindex;
	int family;
	bool found;
	__u32 gateway[4];
	__u32 metric;
};

/* Considers one route: a main-table default of the family with a nexthop
 * through the interface that has a gateway.  Keeps the lowest metric. */
static void gateway_search_one(struct nl_object *obj, void *arg)
{
	struct rtnl_route *r = (struct rtnl_route *)obj;
	struct gateway_search *s = arg;
	struct nl_addr *dst = rtnl_route_get_dst(r);
	__u32 metric = rtnl_route_get_priority(r);

	if ((int)rtnl_route_get_family(r) != s->family ||
	    rtnl_route_get_table(r) != RT_TABLE_MAIN ||
	    rtnl_route_get_type(r) != RTN_UNICAST ||
	    rtnl_route_get_tos(r) != 0 ||
	    !dst || nl_addr_get_prefixlen(dst) != 0)
		return;
	if (s->found && metric >= s->metric)
		return;
	for (int i = 0; i < rtnl_route_get_nnexthops(r); i++) {
		struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, i);
		__u32 gw[4];

		if (rtnl_route_nh_get_ifindex(nh) == s->ifindex &&
		    get_addr(rtnl_route_nh_get_gateway(nh), s->family, gw) &&
		    !mlb_addr_is_none(gw)) {
			s->found = true;
			memcpy(s->gateway, gw, sizeof(gw));
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

/* The interface's first usable address of one family and the gateway of
 * the main table's default route of that family through it.  Returns -1
 * on a failed dump; *found says whether there is an address. */
static int lookup_family(struct nlconn *c, int ifindex, int family,
			 bool *found, __u32 *addr, unsigned *prefixlen,
			 bool *has_gateway, __u32 *gateway, struct mlb_err *err)
{
	struct addr_search as = { .ifindex = ifindex, .family = family };
	struct gateway_search gs = { .ifindex = ifindex, .family = family };

	if (conn_dump(c, RTM_GETADDR, family, addr_search_one, &as))
		return mlb_fail(err, "listing addresses: %s", conn_why(c));
	*found = as.found;
	if (!as.found)
		return 0;
	memcpy(addr, as.addr, addr_bits(family) / 8);
	*prefixlen = as.prefixlen;
	if (conn_dump(c, RTM_GETROUTE, family, gateway_search_one, &gs))
		return mlb_fail(err, "listing routes: %s", conn_why(c));
	*has_gateway = gs.found;
	memcpy(gateway, gs.gateway, addr_bits(family) / 8);
	return 0;
}

int route_lookup_link(const char *ifname, struct mlb_link_info *out,
		      struct mlb_err *err)
{
	struct nlconn c;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (conn_open(&c, err))
		return -1;
	if (link_index(&c, ifname, &out->ifindex, &out->admin_up,
		       &out->carrier, err) ||
	    lookup_family(&c, out->ifindex, AF_INET, &out->has_addr4,
			  &out->addr.s_addr, &out->prefixlen,
			  &out->has_gateway, &out->gateway.s_addr, err) ||
	    lookup_family(&c, out->ifindex, AF_INET6, &out->has_addr6,
			  (__u32 *)&out->addr6, &out->prefixlen6,
			  &out->has_gateway6, (__u32 *)&out->gateway6, err))
		goto out;
	if (!out->has_addr4 && !out->has_addr6) {
		mlb_fail(err, "interface \"%s\" has no IPv4 or global IPv6 "
			 "address", ifname);
		goto out;
	}
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

	if (!s->found && is_our_table(s->state, rtnl_route_get_table(r))) {
		s->found = true;
		s->table = rtnl_route_get_table(r);
	}
}

static void table_search_rule(struct nl_object *obj, void *arg)
{
	struct rtnl_rule *r = (struct rtnl_rule *)obj;
	struct table_search *s = arg;

	if (!s->found && is_our_table(s->state, rtnl_rule_get_table(r))) {
		s->found = true;
		s->table = rtnl_rule_get_table(r);
		s->rule_prio = rtnl_rule_get_prio(r);
	}
}

/* Whether one family's routes and rules leave our tables alone. */
static int check_family_free(struct nlconn *c, const struct mlb_state *state,
			     int family, struct mlb_err *err)
{
	struct table_search routes = { .state = state };
	struct table_search rules = { .state = state };

	if (conn_dump(c, RTM_GETROUTE, family, table_search_route, &routes))
		return mlb_fail(err, "listing routes: %s", conn_why(c));
	if (routes.found)
		return mlb_fail(err, "table %u is already in use (it has %s"
				"routes); choose another --table-base",
				routes.table, family_word(family));
	if (conn_dump(c, RTM_GETRULE, family, table_search_rule, &rules))
		return mlb_fail(err, "listing rules: %s", conn_why(c));
	if (rules.found)
		return mlb_fail(err, "table %u is already in use (%srule %u "
				"looks it up); choose another --table-base",
				rules.table, family_word(family),
				rules.rule_prio);
	return 0;
}

int route_check_free(const struct mlb_state *state, struct mlb_err *err)
{
	struct nlconn c;
	int ret = 0;

	if (conn_open(&c, err))
		return -1;
	for (unsigned f = 0; f < NFAMILIES && !ret; f++)
		ret = check_family_free(&c, state, families[f], err);
	conn_close(&c);
	return ret;
}

int route_in_own_netns(const struct mlb_state *state, struct mlb_err *err)
{
	if (netns_current_inode() == state->netns_inode)
		return 0;
	return mlb_fail(err, "refusing to change routing: this thread is not "
			"in the network namespace of cgroup %s's routing",
			state->cgroup_path);
}

/* ---- adding and deleting one object ---------------------------------- */

static struct rtnl_route *route_object(const struct route_spec *s)
{
	unsigned host = addr_bits(s->family);
	struct rtnl_route *r = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = nl_addr_of(s->family, s->dst, s->dst_len);
	struct nl_addr *src = nl_addr_of(s->family, s->src, host);
	bool has_gw = !mlb_addr_is_none(s->gateway);
	struct nl_addr *gw = has_gw ? nl_addr_of(s->family, s->gateway, host) :
				      NULL;
	bool ok = r && nh && dst && src && (gw || !has_gw);

	if (ok) {
		rtnl_route_set_family(r, (uint8_t)s->family);
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
	rtnl_rule_set_family(r, s->family);
	rtnl_rule_set_prio(r, s->prio);
	if (s->unreachable) {
		rtnl_rule_set_action(r, FR_ACT_UNREACHABLE);
	} else {
		rtnl_rule_set_table(r, s->table);
		rtnl_rule_set_action(r, FR_ACT_TO_TBL);
	}
	rtnl_rule_set_protocol(r, MLB_RTPROT);
	if (s->has_mark) {
		rtnl_rule_set_mark(r, s->mark);
		rtnl_rule_set_mask(r, s->mask);
	}
	if (!mlb_addr_is_none(s->src)) {
		src = nl_addr_of(s->family, s->src, addr_bits(s->family));
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
int route_request(struct nlconn *c, const struct route_spec *s,
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
int rule_request(struct nlconn *c, const struct rule_spec *s, bool add)
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

/* ---- route_install -------------------------------------- */

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

	if (route_in_own_netns(state, err) || build_plan(state, &plan, err) ||
	    conn_open(&c, err))
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
