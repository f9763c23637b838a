/* watch_repair.c - what watch puts back as the record says, in an
 * attachment's namespace and under the writers' lock: the uplinks'
 * tables and rules (route_reconcile), the tc programs of containers and
 * --lan interfaces, the nftables table (see watch_repair.h). */
#include <string.h>
#include <stdio.h>

#include "attachment.h"
#include "forward.h"
#include "nat.h"
#include "recover.h"
#include "repair.h"
#include "route.h"
#include "route_reconcile.h"
#include "watch_repair.h"

/* The watched attachment that repairs the routing a shares with others
 * (see attachment_same_routing): the first one of them, so two never
 * fight over one table. */
static struct attachment_watch *routing_leader(struct attachment_watch *a,
					       struct attachment_watch *all,
					       unsigned n)
{
	for (unsigned s = 0; s < n; s++) {
		struct attachment_watch *b = &all[s];

		if (b == a)
			break;
		if (b->used && attachment_same_routing(&b->state, &a->state))
			return b;
	}
	return a;
}

/* The uplink's gateway, address or index changed (DHCP, a re-created
 * interface): say so. */
static void log_moves(const struct attachment_watch *a,
		      const struct mlb_state *next)
{
	char moved[256];

	for (unsigned i = 0; i < a->state.nuplinks; i++)
		if (repair_describe_move(&a->state.uplinks[i],
					 &next->uplinks[i], moved,
					 sizeof(moved)))
			log_line("cgroup %s uplink %s: %s",
				 a->state.cgroup_path, uplink_name(a, i),
				 moved);
}

/* One line per repaired part, and one per failure to repair while its
 * link is fine (the same failure is not repeated). */
static void log_repairs(struct attachment_watch *a, const char *who,
			__u32 table, const struct route_uplink_check *c,
			bool complete, bool link_ok, char *logged,
			size_t logged_len)
{
	char what[128];

	if (route_describe_repair(c, table, what, sizeof(what)))
		log_line("cgroup %s %s: %s", a->state.cgroup_path, who, what);
	if (complete) {
		logged[0] = 0;
	} else if (link_ok && strcmp(logged, c->problem)) {
		log_line("cgroup %s %s: routing not repaired: %s",
			 a->state.cgroup_path, who, c->problem);
		snprintf(logged, logged_len, "%s", c->problem);
	}
}

/* In the attachment's namespace, under the writers' lock: record next
 * (what check_links found) and make the routing what the record says.
 * Of the attachments sharing a's routing, the first repairs it. */
void watch_repair_routing(struct attachment_watch *a,
			  struct attachment_watch *all, unsigned n,
			  struct mlb_state *next)
{
	static char shared_logged[192];
	static struct mlb_state found, record;
	struct attachment_watch *leader = routing_leader(a, all, n);
	struct route_check check;
	struct mlb_err err;
	char who[IF_NAMESIZE + 8];

	found = leader == a ? *next : leader->state;
	if (recover_lock(&err)) {
		log_line("%s", err.msg);
		return;
	}
	/* Detached or replaced meanwhile: its routing is not ours to put
	 * back (the next rescan lets it go).  A policy riding on another's
	 * routing takes what that one found. */
	if (!loader_is_attached(a->id) || current_link_id(a->id) != a->link_id ||
	    repair_record(&a->pins, &found, &record, next, &err)) {
		mlb_unlock();
		return;
	}
	for (unsigned j = 0; leader != a && j < a->state.nuplinks; j++)
		a->up[j].routing_ok = leader->up[j].routing_ok;
	a->state = record;
	log_moves(a, next);
	a->state = *next;
	if (leader != a) {
		mlb_unlock();
		return;
	}
	if (route_reconcile(&a->state, true, &check, &err)) {
		log_line("cgroup %s: %s", a->state.cgroup_path, err.msg);
		mlb_unlock();
		return;
	}
	mlb_unlock();
	for (unsigned i = 0; i < a->state.nuplinks; i++) {
		const struct mlb_state_uplink *u = &a->state.uplinks[i];
		struct uplink_watch *w = &a->up[i];

		w->routing_ok = route_uplink_complete(&check, i, u->addr ?
						      AF_INET : AF_INET6);
		snprintf(who, sizeof(who), "uplink %s", u->ifname);
		log_repairs(a, who, u->table, &check.up[i],
			    route_uplink_complete(&check, i, AF_UNSPEC),
			    w->link_ok, w->logged_problem,
			    sizeof(w->logged_problem));
	}
	log_repairs(a, "rules", a->state.priority, &check.shared,
		    !check.shared.missing[0] && !check.shared.missing[1], true,
		    shared_logged, sizeof(shared_logged));
}

/* In the attachment's namespace, after an event: containers started
 * since get the tc program, those gone lose what was kept of them, and a
 * --lan interface made again gets its program back. */
void watch_refresh_forward(struct attachment_watch *a)
{
	struct mlb_err err;

	if (recover_lock(&err)) {
		log_line("%s", err.msg);
		return;
	}
	/* detached or replaced meanwhile: not ours to touch */
	if (!loader_is_attached(a->id) ||
	    current_link_id(a->id) != a->link_id) {
		mlb_unlock();
		return;
	}
	if (forward_refresh(&a->state, &err)) {
		if (strncmp(err.msg, a->forward_logged,
			    sizeof(a->forward_logged) - 1))
			log_line("cgroup %s: %s", a->state.cgroup_path,
				 err.msg);
		memcpy(a->forward_logged, err.msg,
		       sizeof(a->forward_logged) - 1);
	} else {
		a->forward_logged[0] = 0;
	}
	mlb_unlock();
}

/* In the attachment's namespace, on every event and probe round: its
 * nftables table made again if it is wanted and gone (a firewall's
 * `nft flush ruleset`), or made when IP forwarding was turned on after
 * the attach (a container runtime started later).  A look without the
 * lock first: on most rounds there is nothing to do. */
void watch_reconcile_nat(struct attachment_watch *a)
{
	static char logged[sizeof(((struct mlb_err *)0)->msg)];
	struct mlb_err err;
	bool made = false;

	if (!nat_wanted(&a->state) ||
	    nat_table_exists(a->state.nft_table, &err) == 1)
		return;
	if (recover_lock(&err)) {
		log_line("%s", err.msg);
		return;
	}
	/* detached or replaced meanwhile: not ours to touch */
	if (loader_is_attached(a->id) &&
	    current_link_id(a->id) == a->link_id &&
	    nat_reconcile(&a->state, &made, &err)) {
		if (strcmp(err.msg, logged))
			log_line("cgroup %s: %s", a->state.cgroup_path,
				 err.msg);
		snprintf(logged, sizeof(logged), "%s", err.msg);
	} else if (made) {
		log_line("cgroup %s: nftables table inet %s made",
			 a->state.cgroup_path, a->state.nft_table);
		logged[0] = 0;
	}
	mlb_unlock();
}
