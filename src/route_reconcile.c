/* route_reconcile.c - an attachment's routing compared with what the
 * kernel holds, repaired, and removed whatever its shape (see
 * route_reconcile.h).
 *
 * What the kernel holds is read from raw dumps: libnl does not parse a
 * rule's suppress_prefixlength, and an object of ours that is not in the
 * plan is deleted by sending it back as the kernel listed it, every
 * attribute included, so the delete matches that object and no other.
 *
 * What is ours: protocol MLB_RTPROT and, for a route, one of the state's
 * tables; for a rule, a priority P..P+3 and one of the state's tables as
 * its target, or main at P, or "from ADDR unreachable" at P+2.  Which
 * kind of rule sits at which of the four priorities does not matter
 * here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "addr.h"
#include "route.h"
#include "route_nlconn.h"
#include "route_plan.h"
#include "route_reconcile.h"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

/* One object of ours found in the kernel. */
struct found {
	bool is_rule;
	bool odd;		/* a shape we never install: always stale */
	bool wanted;		/* matches an object of the plan */
	struct route_spec route;
	struct rule_spec rule;
	struct nlmsghdr *msg;	/* as dumped, to delete it as it is */
};

struct found_list {
	const struct mlb_state *state;
	struct found *items;
	unsigned n, cap;
	bool nomem;
};

static void found_free(struct found_list *l)
{
	for (unsigned k = 0; k < l->n; k++)
		free(l->items[k].msg);
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

static struct found *found_add(struct found_list *l, const struct nlmsghdr *h)
{
	struct found *f;

	if (l->n == l->cap) {
		unsigned cap = l->cap ? 2 * l->cap : 32;
		struct found *items = realloc(l->items, cap * sizeof(*items));

		if (!items) {
			l->nomem = true;
			return NULL;
		}
		l->items = items;
		l->cap = cap;
	}
	f = &l->items[l->n];
	memset(f, 0, sizeof(*f));
	f->msg = malloc(h->nlmsg_len);
	if (!f->msg) {
		l->nomem = true;
		return NULL;
	}
	memcpy(f->msg, h, h->nlmsg_len);
	l->n++;
	return f;
}

/* An address attribute into four words; false if it is not one. */
static bool attr_addr(const struct nlattr *a, int family, __u32 *out)
{
	unsigned len = addr_bits(family) / 8;

	memset(out, 0, 4 * sizeof(*out));
	if (!a)
		return true;
	if ((unsigned)nla_len(a) != len)
		return false;
	memcpy(out, nla_data(a), len);
	return true;
}

static void found_route(const struct nlmsghdr *h, void *arg)
{
	struct found_list *l = arg;
	const struct rtmsg *rtm = nlmsg_data(h);
	struct nlattr *tb[RTA_MAX + 1];
	struct route_spec s = { 0 };
	struct found *f;
	bool odd;

	if (h->nlmsg_type != RTM_NEWROUTE ||
	    nlmsg_parse((struct nlmsghdr *)h, sizeof(*rtm), tb, RTA_MAX,
			NULL) < 0 ||
	    rtm->rtm_protocol != MLB_RTPROT)
		return;
	s.family = rtm->rtm_family;
	s.table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if ((s.family != AF_INET && s.family != AF_INET6) ||
	    !is_our_table(l->state, s.table))
		return;
	s.dst_len = rtm->rtm_dst_len;
	s.scope = rtm->rtm_scope;
	s.unreachable = rtm->rtm_type == RTN_UNREACHABLE;
	odd = !attr_addr(tb[RTA_DST], s.family, s.dst) ||
	      !attr_addr(tb[RTA_GATEWAY], s.family, s.gateway) ||
	      !attr_addr(tb[RTA_PREFSRC], s.family, s.src) ||
	      (rtm->rtm_type != RTN_UNICAST && !s.unreachable) ||
	      rtm->rtm_src_len || rtm->rtm_tos || tb[RTA_MULTIPATH];
	if (tb[RTA_OIF])
		s.ifindex = (int)nla_get_u32(tb[RTA_OIF]);
	/* An unreachable route has no nexthop (IPv6 shows it on lo). */
	if (s.unreachable) {
		memset(s.gateway, 0, sizeof(s.gateway));
		memset(s.src, 0, sizeof(s.src));
		s.ifindex = 0;
	}
	f = found_add(l, h);
	if (f) {
		f->route = s;
		f->odd = odd;
	}
}

/* A rule's attributes we set; any other makes it a rule we never add. */
static bool rule_attr_known(int type)
{
	return type == FRA_PRIORITY || type == FRA_TABLE ||
	       type == FRA_FWMARK || type == FRA_FWMASK || type == FRA_SRC ||
	       type == FRA_PROTOCOL || type == FRA_SUPPRESS_PREFIXLEN;
}

static bool is_our_rule(const struct mlb_state *state,
			const struct rule_spec *s)
{
	if (s->prio < state->priority || s->prio > state->priority + 3)
		return false;
	if (s->unreachable)
		return s->prio == state->priority + 2;
	if (s->table == RT_TABLE_MAIN)
		return s->prio == state->priority;
	return is_our_table(state, s->table);
}

/* The table of the uplink whose address src is (an unreachable rule
 * names none), so the rule is reported with its uplink; 0 if none is. */
static __u32 uplink_table_of(const struct mlb_state *state, int family,
			     const __u32 src[4])
{
	for (unsigned i = 0; i < state->nuplinks && i < MLB_MAX_UPLINKS; i++) {
		const struct mlb_state_uplink *u = &state->uplinks[i];

		if (family == AF_INET ? src[0] == u->addr :
		    !memcmp(src, u->addr6, sizeof(u->addr6)))
			return u->table;
	}
	return 0;
}

static void found_rule(const struct nlmsghdr *h, void *arg)
{
	struct found_list *l = arg;
	const struct fib_rule_hdr *frh = nlmsg_data(h);
	struct nlattr *tb[FRA_MAX + 1];
	struct rule_spec s = { 0 };
	const struct nlattr *a;
	__u32 suppress = (__u32)-1;
	struct found *f;
	bool odd;
	int rem;

	if (h->nlmsg_type != RTM_NEWRULE ||
	    nlmsg_parse((struct nlmsghdr *)h, sizeof(*frh), tb, FRA_MAX,
			NULL) < 0 ||
	    !tb[FRA_PROTOCOL] || nla_get_u8(tb[FRA_PROTOCOL]) != MLB_RTPROT)
		return;
	s.family = frh->family;
	if (s.family != AF_INET && s.family != AF_INET6)
		return;
	s.prio = tb[FRA_PRIORITY] ? nla_get_u32(tb[FRA_PRIORITY]) : 0;
	s.table = tb[FRA_TABLE] ? nla_get_u32(tb[FRA_TABLE]) : frh->table;
	s.unreachable = frh->action == FR_ACT_UNREACHABLE;
	if (!is_our_rule(l->state, &s))
		return;
	s.has_mark = tb[FRA_FWMARK] != NULL;
	if (s.has_mark)
		s.mark = nla_get_u32(tb[FRA_FWMARK]);
	if (tb[FRA_FWMASK])
		s.mask = nla_get_u32(tb[FRA_FWMASK]);
	/* The kernel lists suppress_prefixlength on every rule, -1 for
	 * none. */
	if (tb[FRA_SUPPRESS_PREFIXLEN])
		suppress = nla_get_u32(tb[FRA_SUPPRESS_PREFIXLEN]);
	s.suppress_default = suppress == 0;
	odd = (frh->action != FR_ACT_TO_TBL &&
	       !(s.unreachable && frh->src_len)) || frh->dst_len || frh->tos ||
	      frh->flags ||
	      (frh->src_len && frh->src_len != addr_bits(s.family)) ||
	      !attr_addr(tb[FRA_SRC], s.family, s.src) ||
	      (suppress != 0 && suppress != (__u32)-1);
	nlmsg_for_each_attr(a, h, sizeof(*frh), rem)
		odd |= !rule_attr_known(nla_type(a));
	if (s.unreachable)
		s.table = uplink_table_of(l->state, s.family, s.src);
	f = found_add(l, h);
	if (f) {
		f->is_rule = true;
		f->rule = s;
		f->odd = odd;
	}
}

/* Everything of ours in the namespace, both families. */
static int dump_ours(struct nlconn *c, const struct mlb_state *state,
		     struct found_list *l, struct mlb_err *err)
{

	memset(l, 0, sizeof(*l));
	l->state = state;
	for (unsigned f = 0; f < NFAMILIES; f++) {
		if (conn_dump_routes(c, families[f], MLB_RTPROT, found_route,
				     l))
			return mlb_fail(err, "listing routes: %s",
					conn_why(c));
		if (conn_dump_raw(c, RTM_GETRULE, families[f], found_rule, l))
			return mlb_fail(err, "listing rules: %s", conn_why(c));
	}
	if (l->nomem)
		return mlb_fail(err, "listing routes: out of memory");
	return 0;
}

/* Delete one object as the kernel listed it; gone already is fine. */
static int delete_found(struct nlconn *c, const struct found *f)
{
	struct nl_msg *msg = nlmsg_alloc_simple(f->is_rule ? RTM_DELRULE :
						RTM_DELROUTE, 0);

	c->kerr = 0;
	if (!msg)
		return conn_result(c, -ENOMEM);
	if (nlmsg_append(msg, nlmsg_data(f->msg), (size_t)nlmsg_datalen(f->msg),
			 NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return conn_result(c, -ENOMEM);
	}
	if (conn_request(c, msg) && !conn_gone(c))
		return -1;
	return 0;
}

/* ---- route_remove ------------------------------------------------------ */

int route_remove(const struct mlb_state *state, struct mlb_err *err)
{
	struct found_list l;
	struct nlconn c;
	int ret = 0;

	if (!(state->installed & (MLB_INSTALLED_ROUTES | MLB_INSTALLED_RULES)))
		return 0;
	if (route_in_own_netns(state, err) || conn_open(&c, err))
		return -1;
	if (dump_ours(&c, state, &l, err)) {
		found_free(&l);
		conn_close(&c);
		return -1;
	}
	/* Rules first, so no traffic is steered into a half-emptied table. */
	for (int rules = 1; rules >= 0; rules--)
		for (unsigned k = 0; k < l.n; k++) {
			const struct found *f = &l.items[k];
			char what[128];

			if (f->is_rule != rules || delete_found(&c, f) == 0)
				continue;
			if (ret == 0) {	/* keep going; report the first */
				if (f->is_rule)
					describe_rule(&f->rule, what,
						      sizeof(what));
				else
					describe_route(&f->route, what,
						       sizeof(what));
				ret = mlb_fail(err, "removing %s: %s", what,
					       conn_why(&c));
			}
		}
	found_free(&l);
	conn_close(&c);
	return ret;
}

/* ---- route_reconcile --------------------------------------------------- */

static bool same_route(const struct route_spec *a, const struct route_spec *b)
{
	return a->family == b->family && a->table == b->table &&
	       !memcmp(a->dst, b->dst, sizeof(a->dst)) &&
	       a->dst_len == b->dst_len &&
	       !memcmp(a->gateway, b->gateway, sizeof(a->gateway)) &&
	       !memcmp(a->src, b->src, sizeof(a->src)) &&
	       a->ifindex == b->ifindex && a->scope == b->scope &&
	       a->unreachable == b->unreachable;
}

static bool same_rule(const struct rule_spec *a, const struct rule_spec *b)
{
	return a->family == b->family && a->prio == b->prio &&
	       a->table == b->table &&
	       a->suppress_default == b->suppress_default &&
	       a->has_mark == b->has_mark && a->mark == b->mark &&
	       a->mask == b->mask && !memcmp(a->src, b->src, sizeof(a->src)) &&
	       a->unreachable == b->unreachable;
}

/* The part of the check a table belongs to: its uplink's, or shared. */
static struct route_uplink_check *part_of(const struct mlb_state *state,
					  struct route_check *out,
					  __u32 table)
{
	for (unsigned i = 0; i < state->nuplinks && i < MLB_MAX_UPLINKS; i++)
		if (state->uplinks[i].table == table)
			return &out->up[i];
	return &out->shared;
}

struct comparison {
	bool route_there[MAX_ROUTES];
	bool rule_there[MAX_RULES];
	unsigned missing, stale;
};

/* Mark what of the plan the kernel holds (each object found matches one
 * object of the plan at most: a duplicate is stale), and count what is
 * missing into out. */
static void compare(const struct mlb_state *state, const struct plan *p,
		    struct found_list *l, struct comparison *cmp,
		    struct route_check *out)
{
	memset(cmp, 0, sizeof(*cmp));
	for (unsigned k = 0; k < l->n; k++) {
		struct found *f = &l->items[k];

		for (unsigned r = 0; r < p->nrules && f->is_rule && !f->odd &&
		     !f->wanted; r++)
			if (!cmp->rule_there[r] &&
			    same_rule(&f->rule, &p->rules[r]))
				cmp->rule_there[r] = f->wanted = true;
		for (unsigned r = 0; r < p->nroutes && !f->is_rule &&
		     !f->odd && !f->wanted; r++)
			if (!cmp->route_there[r] &&
			    same_route(&f->route, &p->routes[r]))
				cmp->route_there[r] = f->wanted = true;
		cmp->stale += !f->wanted;
	}
	for (unsigned i = 0; i < MLB_MAX_UPLINKS; i++)
		out->up[i].missing[0] = out->up[i].missing[1] = 0;
	out->shared.missing[0] = out->shared.missing[1] = 0;
	for (unsigned r = 0; r < p->nroutes; r++) {
		const struct route_spec *s = &p->routes[r];

		if (cmp->route_there[r])
			continue;
		part_of(state, out, s->table)->missing[s->family == AF_INET6]++;
		cmp->missing++;
	}
	for (unsigned r = 0; r < p->nrules; r++) {
		const struct rule_spec *s = &p->rules[r];

		if (cmp->rule_there[r])
			continue;
		part_of(state, out, s->table)->missing[s->family == AF_INET6]++;
		cmp->missing++;
	}
}

/* Name one missing object of a part (a default route first: what marked
 * sockets need most), with how many more there are; a failure to add
 * found by fix is kept over a plain "missing". */
static void name_missing(const struct mlb_state *state, const struct plan *p,
			 const struct comparison *cmp, struct route_check *out)
{
	char what[128];

	for (int defaults = 1; defaults >= 0; defaults--)
		for (unsigned r = 0; r < p->nroutes; r++) {
			const struct route_spec *s = &p->routes[r];
			struct route_uplink_check *part =
				part_of(state, out, s->table);

			if (cmp->route_there[r] || part->problem[0] ||
			    (s->dst_len == 0) != defaults)
				continue;
			describe_route(s, what, sizeof(what));
			snprintf(part->problem, sizeof(part->problem),
				 "%s missing", what);
		}
	for (unsigned r = 0; r < p->nrules; r++) {
		struct route_uplink_check *part =
			part_of(state, out, p->rules[r].table);

		if (cmp->rule_there[r] || part->problem[0])
			continue;
		describe_rule(&p->rules[r], what, sizeof(what));
		snprintf(part->problem, sizeof(part->problem), "%s missing",
			 what);
	}
	for (unsigned i = 0; i <= MLB_MAX_UPLINKS; i++) {
		struct route_uplink_check *part =
			i < MLB_MAX_UPLINKS ? &out->up[i] : &out->shared;
		unsigned more = part->missing[0] + part->missing[1];
		size_t n = strlen(part->problem);

		if (more > 1 && !part->add_failed)
			snprintf(part->problem + n, sizeof(part->problem) - n,
				 " (and %u more)", more - 1);
	}
}

/* Delete the stale objects, rules first; add the missing ones, routes
 * first (a rule never points into a table before its routes are in). */
static unsigned fix(struct nlconn *c, const struct mlb_state *state,
		    const struct plan *p, const struct found_list *l,
		    const struct comparison *cmp, struct route_check *out)
{
	unsigned changed = 0;
	char what[128];

	for (int rules = 1; rules >= 0; rules--)
		for (unsigned k = 0; k < l->n; k++) {
			const struct found *f = &l->items[k];

			if (f->wanted || f->is_rule != rules)
				continue;
			if (delete_found(c, f) == 0) {
				part_of(state, out, f->is_rule ? f->rule.table :
					f->route.table)->removed++;
				changed++;
			}
		}
	for (unsigned r = 0; r < p->nroutes; r++) {
		struct route_uplink_check *part =
			part_of(state, out, p->routes[r].table);

		if (cmp->route_there[r])
			continue;
		if (route_request(c, &p->routes[r], true) == 0) {
			part->restored_routes++;
			changed++;
			continue;
		}
		if (part->add_failed)
			continue;
		part->add_failed = true;
		describe_route(&p->routes[r], what, sizeof(what));
		snprintf(part->problem, sizeof(part->problem),
			 "adding %s: %s", what, conn_why(c));
	}
	for (unsigned r = 0; r < p->nrules; r++) {
		struct route_uplink_check *part =
			part_of(state, out, p->rules[r].table);

		if (cmp->rule_there[r])
			continue;
		if (rule_request(c, &p->rules[r], true) == 0) {
			part->restored_rules++;
			changed++;
			continue;
		}
		if (part->add_failed)
			continue;
		part->add_failed = true;
		describe_rule(&p->rules[r], what, sizeof(what));
		snprintf(part->problem, sizeof(part->problem),
			 "adding %s: %s", what, conn_why(c));
	}
	return changed;
}

/* Passes of compare-and-fix: each fix is checked by a new dump (the
 * kernel may have dropped something meanwhile, a link going down again),
 * and what is still missing after the last is reported. */
#define RECONCILE_PASSES 3

int route_reconcile(const struct mlb_state *state, bool do_fix,
		    struct route_check *out, struct mlb_err *err)
{
	static struct plan plan;
	struct comparison cmp;
	struct found_list l = { 0 };
	struct nlconn c;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (route_in_own_netns(state, err) || build_plan(state, &plan, err) ||
	    conn_open(&c, err))
		return -1;
	for (unsigned pass = 0;; pass++) {
		if (dump_ours(&c, state, &l, err)) {
			ret = -1;
			break;
		}
		compare(state, &plan, &l, &cmp, out);
		if (!do_fix || (!cmp.missing && !cmp.stale) ||
		    pass == RECONCILE_PASSES)
			break;
		/* Nothing could be changed (a link still down): no use
		 * trying again now; the dump above says what is missing. */
		if (!fix(&c, state, &plan, &l, &cmp, out))
			break;
		found_free(&l);
	}
	if (ret == 0)
		name_missing(state, &plan, &cmp, out);
	found_free(&l);
	conn_close(&c);
	/* A failure to add that a later pass got past is no problem. */
	for (unsigned i = 0; i < MLB_MAX_UPLINKS; i++)
		if (route_uplink_complete(out, i, AF_UNSPEC))
			out->up[i].problem[0] = 0;
	if (!out->shared.missing[0] && !out->shared.missing[1])
		out->shared.problem[0] = 0;
	return ret;
}

bool route_uplink_complete(const struct route_check *c, unsigned i,
			   int family)
{
	const struct route_uplink_check *u = &c->up[i];

	if (family == AF_INET)
		return !u->missing[0];
	if (family == AF_INET6)
		return !u->missing[1];
	return !u->missing[0] && !u->missing[1];
}

bool route_complete(const struct mlb_state *state,
		    const struct route_check *c)
{
	for (unsigned i = 0; i < state->nuplinks && i < MLB_MAX_UPLINKS; i++)
		if (!route_uplink_complete(c, i, AF_UNSPEC))
			return false;
	return !c->shared.missing[0] && !c->shared.missing[1];
}

bool route_describe_repair(const struct route_uplink_check *c, __u32 table,
			   char *buf, size_t len)
{
	unsigned routes = c->restored_routes, rules = c->restored_rules;
	char stale[48] = "";

	if (c->removed)
		snprintf(stale, sizeof(stale), "%u stale object%s removed",
			 c->removed, c->removed == 1 ? "" : "s");
	if (routes || rules)
		snprintf(buf, len, "table %u restored (%u route%s, %u rule%s%s%s)",
			 table, routes, routes == 1 ? "" : "s", rules,
			 rules == 1 ? "" : "s", *stale ? "; " : "", stale);
	else if (*stale)
		snprintf(buf, len, "table %u: %s", table, stale);
	return routes || rules || *stale;
}

/* ---- route_follow_link ------------------------------------------------- */

void route_follow_link(struct mlb_state_uplink *u,
		       const struct mlb_link_info *link)
{
	u->ifindex = (__u32)link->ifindex;
	if (u->addr && link->has_addr4) {
		u->addr = link->addr.s_addr;
		u->prefixlen = link->prefixlen;
		if (!u->gateway_given && link->has_gateway)
			u->gateway = link->gateway.s_addr;
	}
	if (!mlb_addr_is_none(u->addr6) && link->has_addr6) {
		memcpy(u->addr6, &link->addr6, sizeof(u->addr6));
		u->prefixlen6 = link->prefixlen6;
		if (!u->gateway6_given && link->has_gateway6)
			memcpy(u->gateway6, &link->gateway6,
			       sizeof(u->gateway6));
	}
}
