/* route_plan.c - what an attachment's routing is, planned from its record
 * (see route_plan.h): per family, each uplink's table (connected
 * route, host route to an off-link gateway, default) and the rules at
 * P..P+3 of route.h, and the words that name one planned object in
 * messages.  Planning only: route.c installs the plan, route_reconcile.c
 * compares it with what the kernel holds.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>

#include "addr.h"
#include "route_plan.h"

#include <linux/rtnetlink.h>

static bool addr_is_link_local(int family, const __u32 *a)
{
	return family == AF_INET6 &&
	       (ntohl(a[0]) & 0xffc00000) == 0xfe800000;
}

/* out = a with every bit past prefixlen cleared. */
static void addr_mask(const __u32 *a, unsigned prefixlen, __u32 *out)
{
	unsigned char *b = (unsigned char *)out;

	memcpy(out, a, 4 * sizeof(*a));
	for (unsigned bit = prefixlen; bit < 128; bit++)
		b[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
}

static bool same_prefix(const __u32 *a, const __u32 *b, unsigned prefixlen)
{
	__u32 x[4], y[4];

	addr_mask(a, prefixlen, x);
	addr_mask(b, prefixlen, y);
	return !memcmp(x, y, sizeof(x));
}

/* ---- what an attachment installs ---------------------------------------
 *
 * Install and route_reconcile work from one list of objects built from
 * the state (route_plan.h); a failed install deletes what it added, in
 * reverse order.  Each
 * family is planned on its own: an uplink's IPv4 objects exist only if it
 * has an IPv4 address, its IPv6 objects only if it has an IPv6 one, and a
 * family no uplink carries gets no rules at all (its sockets follow the
 * main table, marked or not).
 */

/* One family's side of an uplink, as its routes and rules need it. */
struct uplink_side {
	int family;
	__u32 table;
	__u32 mark;
	int ifindex;
	__u32 addr[4];
	unsigned prefixlen;
	__u32 gateway[4];	/* zero: none */
};

/* The uplink's side of one family; false if it has no address of it. */
static bool uplink_side(const struct mlb_state_uplink *u, int family,
			struct uplink_side *out)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->table = u->table;
	out->mark = u->mark;
	out->ifindex = (int)u->ifindex;
	if (family == AF_INET) {
		out->addr[0] = u->addr;
		out->prefixlen = u->prefixlen;
		out->gateway[0] = u->gateway;
	} else {
		memcpy(out->addr, u->addr6, sizeof(out->addr));
		out->prefixlen = u->prefixlen6;
		memcpy(out->gateway, u->gateway6, sizeof(out->gateway));
	}
	return !mlb_addr_is_none(out->addr);
}

static void plan_route(struct plan *p, const struct uplink_side *u,
		       const __u32 *dst, unsigned dst_len,
		       const __u32 *gateway, unsigned char scope)
{
	struct route_spec *r = &p->routes[p->nroutes++];

	memset(r, 0, sizeof(*r));
	r->family = u->family;
	r->table = u->table;
	memcpy(r->dst, dst, sizeof(r->dst));
	r->dst_len = dst_len;
	if (gateway)
		memcpy(r->gateway, gateway, sizeof(r->gateway));
	memcpy(r->src, u->addr, sizeof(r->src));
	r->ifindex = u->ifindex;
	/* IPv6 routes have no scope; the kernel ignores the field. */
	r->scope = u->family == AF_INET6 ? RT_SCOPE_UNIVERSE : scope;
}

static void plan_uplink_routes(struct plan *p, const struct uplink_side *u)
{
	static const __u32 any[4];
	unsigned len = u->prefixlen;
	bool connected = len > 0 && len < addr_bits(u->family);
	bool has_gateway = !mlb_addr_is_none(u->gateway);
	__u32 net[4];

	/* The uplink's own subnet, so its neighbours (and usually the
	 * gateway) are reachable within the table.  A /32 (/128) has none. */
	addr_mask(u->addr, len, net);
	if (connected)
		plan_route(p, u, net, len, NULL, RT_SCOPE_LINK);
	/* A gateway outside that subnet (a /32, or an "onlink" gateway)
	 * needs a host route on the link, or the kernel refuses the
	 * default route through it as unreachable.  An IPv6 link-local
	 * gateway is always on the link. */
	if (has_gateway && !addr_is_link_local(u->family, u->gateway) &&
	    (!connected || !same_prefix(u->gateway, u->addr, len)))
		plan_route(p, u, u->gateway, addr_bits(u->family), NULL,
			   RT_SCOPE_LINK);
	/* No IPv4 gateway at all (point-to-point links): default dev IF.
	 * No IPv6 gateway: no IPv6 default, so the uplink's IPv6 sockets
	 * leave by the main table's. */
	if (has_gateway)
		plan_route(p, u, any, 0, u->gateway, RT_SCOPE_UNIVERSE);
	else if (u->family == AF_INET)
		plan_route(p, u, any, 0, NULL, RT_SCOPE_LINK);
}

static struct rule_spec *plan_rule(struct plan *p, int family, __u32 prio,
				   __u32 table)
{
	struct rule_spec *r = &p->rules[p->nrules++];

	memset(r, 0, sizeof(*r));
	r->family = family;
	r->prio = prio;
	r->table = table;
	return r;
}

static void plan_mark_rule(struct plan *p, int family, __u32 prio,
			   __u32 table, __u32 mark, __u32 mask)
{
	struct rule_spec *r = plan_rule(p, family, prio, table);

	r->has_mark = true;
	r->mark = mark;
	r->mask = mask;
}

/* Replies and sockets bound to an uplink's address leave by it. */
static struct rule_spec *plan_from_rule(struct plan *p, __u32 prio,
					const struct uplink_side *u)
{
	struct rule_spec *r = plan_rule(p, u->family, prio, u->table);

	memcpy(r->src, u->addr, sizeof(r->src));
	return r;
}

static void plan_family(const struct mlb_state *state, int family,
			struct plan *p)
{
	struct uplink_side sides[MLB_MAX_UPLINKS];
	bool has[MLB_MAX_UPLINKS];
	__u32 n = state->nuplinks, prio = state->priority, carried = 0;
	bool unreachable = state->last_resort == MLB_LAST_RESORT_UNREACHABLE;

	for (__u32 i = 0; i < n; i++)
		carried += has[i] = uplink_side(&state->uplinks[i], family,
						&sides[i]);
	if (!carried)
		return;
	for (__u32 i = 0; i < n; i++)
		if (has[i])
			plan_uplink_routes(p, &sides[i]);
	/* last-resort=unreachable: sockets given this mark while every
	 * uplink is down fail at once instead of leaving by main. */
	if (unreachable) {
		struct route_spec *r = &p->routes[p->nroutes++];

		memset(r, 0, sizeof(*r));
		r->family = family;
		r->table = state->unreachable_table;
		r->scope = RT_SCOPE_UNIVERSE;
		r->unreachable = true;
	}

	/* Marked sockets still reach every connected network: main is
	 * consulted first, but its default route is ignored. */
	plan_rule(p, family, prio, RT_TABLE_MAIN)->suppress_default = true;
	/* The from-rules come before the marks: a packet that already has
	 * an uplink's source address (a SYN-ACK, an accepted socket, a UDP
	 * reply sent from the address the request came to) is a reply on
	 * that uplink and must leave by it, whatever mark the listening
	 * socket got.  A socket's first lookup has no source address yet,
	 * so its mark decides, and picks the source with the table. */
	for (__u32 i = 0; i < n; i++)
		if (has[i])
			plan_from_rule(p, prio + 1, &sides[i]);
	/* While the uplink's table has lost its default (its link went
	 * admin down: the kernel deletes the routes through it), packets
	 * from its address would fall through to another uplink with this
	 * one's source, which that ISP drops and no NAT is there to
	 * rewrite: fail them here instead.  Not for an uplink without a
	 * gateway in this family: its sockets have always left by main. */
	for (__u32 i = 0; i < n; i++)
		if (has[i] && !mlb_addr_is_none(sides[i].gateway))
			plan_from_rule(p, prio + 2, &sides[i])->unreachable =
				true;
	for (__u32 i = 0; i < n; i++)
		if (has[i])
			plan_mark_rule(p, family, prio + 3, sides[i].table,
				       sides[i].mark, state->mark_mask);
	if (unreachable)
		plan_mark_rule(p, family, prio + 3, state->unreachable_table,
			       state->unreachable_mark, state->mark_mask);
}

bool is_our_table(const struct mlb_state *state, __u32 table)
{
	for (__u32 i = 0; i < state->nuplinks && i < MLB_MAX_UPLINKS; i++)
		if (state->uplinks[i].table == table)
			return true;
	return state->last_resort == MLB_LAST_RESORT_UNREACHABLE &&
	       state->unreachable_table == table;
}

int build_plan(const struct mlb_state *state, struct plan *p,
		      struct mlb_err *err)
{
	if (state->nuplinks > MLB_MAX_UPLINKS)
		return mlb_fail(err, "%u uplinks in the state, at most %d are "
				"supported", state->nuplinks, MLB_MAX_UPLINKS);
	p->nroutes = p->nrules = 0;
	for (unsigned f = 0; f < NFAMILIES; f++)
		plan_family(state, families[f], p);
	return 0;
}

void describe_route(const struct route_spec *s, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], dev[IF_NAMESIZE];

	if (!if_indextoname((unsigned)s->ifindex, dev))
		snprintf(dev, sizeof(dev), "#%d", s->ifindex);
	if (s->unreachable)
		snprintf(buf, len, "unreachable %sdefault route to table %u",
			 family_word(s->family), s->table);
	else if (s->dst_len == 0 && !mlb_addr_is_none(s->gateway))
		snprintf(buf, len, "default route via %s to table %u",
			 addr_str(s->family, s->gateway, a), s->table);
	else if (s->dst_len == 0)
		snprintf(buf, len, "default route dev %s to table %u", dev,
			 s->table);
	else
		snprintf(buf, len, "route %s/%u dev %s to table %u",
			 addr_str(s->family, s->dst, a), s->dst_len, dev,
			 s->table);
}

void describe_rule(const struct rule_spec *s, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	const char *fam = family_word(s->family);

	if (s->suppress_default)
		snprintf(buf, len, "%srule %u (lookup main "
			 "suppress_prefixlength 0)", fam, s->prio);
	else if (s->unreachable)
		snprintf(buf, len, "rule %u (from %s unreachable)", s->prio,
			 addr_str(s->family, s->src, a));
	else if (s->has_mark)
		snprintf(buf, len, "%srule %u (fwmark 0x%x/0x%x lookup %u)",
			 fam, s->prio, s->mark, s->mask, s->table);
	else
		snprintf(buf, len, "rule %u (from %s lookup %u)", s->prio,
			 addr_str(s->family, s->src, a), s->table);
}

