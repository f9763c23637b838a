/* watch_uplinks.c - watch's judgement of each uplink: its link, its
 * routing (put back when the kernel dropped it), its probe rounds, and
 * the health and slot table that follow (see watch_uplinks.h).  What it
 * needs of watch.c's (the other attachments, the default settings) it is
 * handed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "attachment.h"
#include "journal.h"
#include "loader.h"
#include "lock.h"
#include "probe.h"
#include "recover.h"
#include "repair.h"
#include "route.h"
#include "route_reconcile.h"
#include "slots.h"
#include "watch_uplinks.h"

/* ---- watch's log and the pinned link ---------------------------------- */

void watch_log_line(const char *fmt, ...)
{
	va_list ap;

	fputs("mlb-bpf watch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The id of the BPF link pinned for cgroup id now (0 if none). */
uint32_t watch_current_link_id(uint64_t id)
{
	struct mlb_prog_info info = { 0 };
	struct mlb_pins pins;
	struct mlb_err err;

	if (loader_open(id, &pins, &err))
		return 0;
	if (loader_prog_info(&pins, &info, &err))
		info.link_id = 0;
	loader_close(&pins);
	return info.link_id;
}

/* ---- health state ------------------------------------------------------ */

static const char *uplink_name(const struct attachment_watch *a, unsigned i)
{
	return a->state.uplinks[i].ifname;
}

void watch_set_state(struct attachment_watch *a, unsigned i, __u32 state,
		      const char *reason)
{
	struct mlb_health *h = &a->up[i].health;
	struct mlb_err err;

	if (h->state == state)
		return;
	if (h->state == MLB_HEALTH_UP && state == MLB_HEALTH_DOWN)
		h->failovers++;
	h->state = state;
	h->since = (uint64_t)time(NULL);
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	watch_log_line("cgroup %s uplink %s: %s (%s)", a->state.cgroup_path,
		 uplink_name(a, i), state == MLB_HEALTH_UP ? "up" : "down",
		 reason);
	if (loader_write_health(&a->pins, i, h, &err))
		watch_log_line("%s", err.msg);
}

/* New sockets go to the uplinks that are not down, by their weights; when
 * all are down, to the last resort (no mark: main; or the unreachable
 * mark, which is one more "uplink" after the real ones). */
/* Take up what `apply` changed in place (weights, probe settings) since
 * the record was read: the record is the truth, this copy a cache. */
void watch_refresh_state(struct attachment_watch *a)
{
	struct mlb_state fresh;
	struct mlb_err err;

	if (loader_read_state(&a->pins, &fresh, &err) == 0 &&
	    fresh.nuplinks == a->state.nuplinks)
		a->state = fresh;
}

/* Under the writers' lock, from reading the record to the flip: an
 * `apply` changing weights at the same time either comes first (and its
 * weights are read here) or after (and it reads the health written
 * here); neither change is lost. */
void watch_apply_weights(struct attachment_watch *a)
{
	struct mlb_health health[MLB_MAX_UPLINKS];
	unsigned weights[MLB_MAX_UPLINKS + 1], live, n;
	struct mlb_err err;

	/* Another writer held the lock too long: the loop tries again. */
	a->weights_pending = recover_lock(&err) != 0;
	if (a->weights_pending) {
		watch_log_line("cgroup %s: %s (trying again)",
			       a->state.cgroup_path, err.msg);
		return;
	}
	journal_report(stderr, "mlb-bpf watch: ");
	watch_refresh_state(a);
	for (unsigned i = 0; i < a->state.nuplinks; i++)
		health[i] = a->up[i].health;
	n = mlb_live_weights(&a->state, health, weights, &live);
	if (loader_set_weights(&a->pins, weights, n, &err))
		watch_log_line("cgroup %s: %s", a->state.cgroup_path, err.msg);
	else if (!live)
		watch_log_line("cgroup %s: every uplink is down; new sockets %s",
			 a->state.cgroup_path,
			 a->state.last_resort == MLB_LAST_RESORT_UNREACHABLE ?
			 "get the unreachable route" : "follow the main table");
	mlb_unlock();
}

/* ---- link checks (events, and at every probe) -------------------------- */

/* What watch_check_links calls a failed link (the health reason). */
static const char *const link_reasons[] = {
	"admin down", "carrier lost", "address removed", "interface gone",
};

bool watch_down_by_link(const struct mlb_health *h)
{
	if (h->state != MLB_HEALTH_DOWN)
		return false;
	for (size_t k = 0; k < sizeof(link_reasons) / sizeof(link_reasons[0]);
	     k++)
		if (!strcmp(h->reason, link_reasons[k]))
			return true;
	return false;
}

/* Why the uplink cannot carry traffic now, or NULL.  One that carries
 * IPv4 needs its IPv4 address, one that carries only IPv6 its IPv6
 * address. */
static const char *link_problem(const struct mlb_state_uplink *u,
				const struct mlb_link_info *link)
{
	if (!link->admin_up)
		return link_reasons[0];
	if (!link->carrier)
		return link_reasons[1];
	if (u->addr ? !link->has_addr4 : !link->has_addr6)
		return link_reasons[2];
	return NULL;
}

static void cancel_round(struct uplink_watch *w)
{
	for (unsigned p = 0; p < w->in_flight; p++)
		probe_cancel(&w->probes[p]);
	w->in_flight = 0;
}

/* Look every uplink up in the kernel: its link's state, and in next what
 * it has now (index, addresses, gateways).  An uplink whose link fails
 * goes down at once; one whose link is back is probed at once, so it can
 * return on the first answered probe.  Returns true if some uplink went
 * down. */
bool watch_check_links(struct attachment_watch *a, struct mlb_state *next)
{
	bool changed = false;

	*next = a->state;
	for (unsigned i = 0; i < a->state.nuplinks; i++) {
		struct uplink_watch *w = &a->up[i];
		struct mlb_link_info link;
		const char *why;
		struct mlb_err err;
		bool was_ok = w->link_ok;

		if (route_lookup_link(uplink_name(a, i), &link, &err)) {
			why = strstr(err.msg, "no IPv4") ? link_reasons[2] :
							   link_reasons[3];
		} else {
			why = link_problem(&a->state.uplinks[i], &link);
			route_follow_link(&next->uplinks[i], &link);
		}
		w->link_ok = !why;
		if (why && w->health.state != MLB_HEALTH_DOWN) {
			w->down_by_link = true;
			watch_set_state(a, i, MLB_HEALTH_DOWN, why);
			changed = true;
		} else if (!why && !was_ok) {
			cancel_round(w);
			w->next_probe_us = 0;
			w->health.fails = 0;
		}
	}
	return changed;
}


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
			watch_log_line("cgroup %s uplink %s: %s",
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
		watch_log_line("cgroup %s %s: %s", a->state.cgroup_path, who, what);
	if (complete) {
		logged[0] = 0;
	} else if (link_ok && strcmp(logged, c->problem)) {
		watch_log_line("cgroup %s %s: routing not repaired: %s",
			 a->state.cgroup_path, who, c->problem);
		snprintf(logged, logged_len, "%s", c->problem);
	}
}

/* Record what the links say and make the routing what the record says,
 * under the writers' lock. */
void watch_repair_routing(struct attachment_watch *a, struct mlb_state *next,
			  struct attachment_watch *all, unsigned n)
{
	static char shared_logged[192];
	static struct mlb_state found, record;
	struct attachment_watch *leader = routing_leader(a, all, n);
	struct route_check check;
	struct mlb_err err;
	char who[IF_NAMESIZE + 8];

	found = leader == a ? *next : leader->state;
	if (recover_lock(&err)) {
		watch_log_line("%s", err.msg);
		return;
	}
	/* Detached or replaced meanwhile: its routing is not ours to put
	 * back (the next rescan lets it go).  A policy riding on another's
	 * routing takes what that one found. */
	if (!loader_is_attached(a->id) || watch_current_link_id(a->id) != a->link_id ||
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
		watch_log_line("cgroup %s: %s", a->state.cgroup_path, err.msg);
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

/* ---- probes ------------------------------------------------------------ */

/* Returns false if no probe could even be sent (a failed round). */
bool watch_start_round(struct attachment_watch *a, unsigned i, uint64_t now,
		       const struct watch_defaults *d)
{
	const struct mlb_state_uplink *u = &a->state.uplinks[i];
	struct uplink_watch *w = &a->up[i];
	unsigned type = watch_setting(u->probe_type, d->probe_type);
	unsigned port = watch_setting(u->probe_port, d->probe_port);
	unsigned timeout = watch_setting(u->timeout_ms, d->timeout_ms);
	unsigned n = u->nprobes ? u->nprobes : 1;
	static const enum probe_type types[] = {
		[MLB_PROBE_ICMP] = PROBE_ICMP,
		[MLB_PROBE_TCP] = PROBE_TCP,
		[MLB_PROBE_ARP] = PROBE_ARP,
	};

	w->next_probe_us = now + 1000ULL *
		watch_setting(u->interval_ms, d->interval_ms);
	w->round_ok = false;
	w->in_flight = 0;
	/* Nothing to probe (state.h): the round is decided at once,
	 * answered while the link is fine. */
	if (mlb_uplink_judged_by_link(u)) {
		w->round_ok = w->link_ok && w->routing_ok;
		w->round_rtt_us = 0;
		return false;
	}
	for (unsigned p = 0; p < n; p++) {
		struct in_addr target = {
			.s_addr = u->nprobes ? u->probes[p] : u->gateway,
		};
		struct in_addr source = { .s_addr = u->addr };
		struct mlb_err err;

		if (probe_start(&w->probes[w->in_flight], types[type], target,
				(uint16_t)port, u->ifname, (int)u->ifindex,
				source, u->mark, timeout, &err) == 0)
			w->in_flight++;
	}
	return w->in_flight > 0;
}

/* One probe round finished: count it, and decide. */
bool watch_end_round(struct attachment_watch *a, unsigned i,
		     const struct watch_defaults *d)
{
	const struct mlb_state_uplink *u = &a->state.uplinks[i];
	struct uplink_watch *w = &a->up[i];
	struct mlb_health *h = &w->health;
	unsigned down = watch_setting(u->down, d->down);
	unsigned up = watch_setting(u->up, d->up);
	char why[64];
	struct mlb_err err;
	__u32 before = h->state;

	/* An answer through the device proves nothing while the uplink's
	 * table or rules are missing: its marked sockets go elsewhere. */
	if (!w->routing_ok)
		w->round_ok = false;
	h->last_probe = (uint64_t)time(NULL);
	h->last_ok = w->round_ok;
	if (w->round_ok) {
		h->rtt_us = w->round_rtt_us;
		h->successes++;
		h->fails = 0;
	} else {
		h->fails++;
		h->successes = 0;
		/* Its link is back but its probes keep failing: from now on
		 * a probe failure, which needs `up` answers. */
		if (w->link_ok && h->fails >= down)
			w->down_by_link = false;
	}
	if (h->state != MLB_HEALTH_DOWN && h->fails >= down) {
		snprintf(why, sizeof(why), "%u probes failed", h->fails);
		w->down_by_link = false;
		watch_set_state(a, i, MLB_HEALTH_DOWN, why);
	} else if (h->state == MLB_HEALTH_DOWN && w->link_ok &&
		   w->down_by_link && w->round_ok) {
		/* Its link failed, not its probes: back on the first
		 * answer once the link is. */
		w->down_by_link = false;
		watch_set_state(a, i, MLB_HEALTH_UP, "link back, probe answered");
	} else if (h->state == MLB_HEALTH_DOWN && w->link_ok &&
		   h->successes >= up) {
		snprintf(why, sizeof(why), "%u probes answered", h->successes);
		watch_set_state(a, i, MLB_HEALTH_UP, why);
	} else if (loader_write_health(&a->pins, i, h, &err)) {
		watch_log_line("%s", err.msg);
	}
	return h->state != before;
}

/* Look at the probes in flight; returns true if a state changed. */
bool watch_collect(struct attachment_watch *a, uint64_t now,
		   const struct watch_defaults *d)
{
	bool changed = false;

	for (unsigned i = 0; i < a->state.nuplinks; i++) {
		struct uplink_watch *w = &a->up[i];
		unsigned still = 0;

		if (w->in_flight == 0)
			continue;
		for (unsigned p = 0; p < w->in_flight; p++) {
			struct probe *pr = &w->probes[p];

			if (!probe_check(pr, now)) {
				still++;
				continue;
			}
			if (pr->ok && !w->round_ok) {
				w->round_ok = true;
				w->round_rtt_us = pr->rtt_us;
			}
		}
		if (still)
			continue;
		w->in_flight = 0;
		changed |= watch_end_round(a, i, d);
	}
	return changed;
}
