/* watch_uplinks.c - watch's judgement of one uplink: its link, its probe
 * rounds, and the health that follows (see watch_uplinks.h).  What it
 * needs it is handed; what it decides it returns.
 */
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "route.h"
#include "state.h"
#include "watch_uplinks.h"

static void decide(struct uplink_verdict *v, __u32 state, const char *reason)
{
	v->change = true;
	v->state = state;
	snprintf(v->reason, sizeof(v->reason), "%s", reason);
}

/* ---- link checks (events, and at every probe) -------------------------- */

/* What watch_judge_link calls a failed link (the health reason). */
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

void watch_cancel_round(struct uplink_watch *w)
{
	for (unsigned p = 0; p < w->in_flight; p++)
		probe_cancel(&w->probes[p]);
	w->in_flight = 0;
}

void watch_judge_link(const struct mlb_state_uplink *u, struct uplink_watch *w,
		      const struct mlb_link_info *link,
		      const char *lookup_error, struct uplink_verdict *v)
{
	bool was_ok = w->link_ok;
	const char *why;

	v->change = false;
	if (!link)
		why = strstr(lookup_error, "no IPv4") ? link_reasons[2] :
							link_reasons[3];
	else
		why = link_problem(u, link);
	w->link_ok = !why;
	if (why && w->health.state != MLB_HEALTH_DOWN) {
		w->down_by_link = true;
		decide(v, MLB_HEALTH_DOWN, why);
	} else if (!why && !was_ok) {
		watch_cancel_round(w);
		w->next_probe_us = 0;
		w->health.fails = 0;
	}
}

/* ---- probes ------------------------------------------------------------ */

bool watch_start_round(const struct mlb_state_uplink *u, struct uplink_watch *w,
		       uint64_t now, const struct watch_defaults *d)
{
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

bool watch_round_over(struct uplink_watch *w, uint64_t now)
{
	unsigned still = 0;

	if (w->in_flight == 0)
		return false;
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
		return false;
	w->in_flight = 0;
	return true;
}

void watch_judge_round(const struct mlb_state_uplink *u, struct uplink_watch *w,
		       const struct watch_defaults *d, uint64_t when,
		       struct uplink_verdict *v)
{
	struct mlb_health *h = &w->health;
	unsigned down = watch_setting(u->down, d->down);
	unsigned up = watch_setting(u->up, d->up);
	char why[64];

	v->change = false;
	/* An answer through the device proves nothing while the uplink's
	 * table or rules are missing: its marked sockets go elsewhere. */
	if (!w->routing_ok)
		w->round_ok = false;
	h->last_probe = when;
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
		decide(v, MLB_HEALTH_DOWN, why);
	} else if (h->state == MLB_HEALTH_DOWN && w->link_ok &&
		   w->down_by_link && w->round_ok) {
		/* Its link failed, not its probes: back on the first
		 * answer once the link is. */
		w->down_by_link = false;
		decide(v, MLB_HEALTH_UP, "link back, probe answered");
	} else if (h->state == MLB_HEALTH_DOWN && w->link_ok &&
		   h->successes >= up) {
		snprintf(why, sizeof(why), "%u probes answered", h->successes);
		decide(v, MLB_HEALTH_UP, why);
	}
}
