/* watch_uplinks.h - watch's judgement of one uplink: from what its link
 * and its probes say, whether it is up or down, and why.  It logs
 * nothing, takes no lock and writes nothing the kernel keeps: watch.c,
 * above, owns the records (struct uplink_watch lives in its attachments),
 * hands each call one uplink's record and settings, and carries the
 * verdicts out (health written and logged, the slot table flipped).
 */
#ifndef MLB_WATCH_UPLINKS_H
#define MLB_WATCH_UPLINKS_H

#include <stdbool.h>
#include <stdint.h>

#include "probe.h"
#include "route.h"
#include "state.h"
#include "watch_defaults.h"

/* What watch knows of one uplink of one attachment. */
struct uplink_watch {
	struct mlb_health health;
	struct probe probes[MLB_MAX_PROBES];
	unsigned in_flight;		/* probes of the current round */
	bool round_ok;			/* some probe of the round answered */
	uint32_t round_rtt_us;
	uint64_t next_probe_us;
	bool link_ok;			/* admin up, carrier, address */
	/* Its table and rules are complete (of the family its probes use):
	 * only then does an answered probe count, since marked sockets
	 * find an empty table otherwise and leave by main. */
	bool routing_ok;
	bool down_by_link;		/* taken down by a link event */
	char logged_problem[192];	/* the last repair failure logged */
};

/* A judgement: the uplink's new health state and why, or no change. */
struct uplink_verdict {
	bool change;
	__u32 state;			/* MLB_HEALTH_UP or MLB_HEALTH_DOWN */
	char reason[64];
};

/* An uplink's own setting, or watch's default. */
static inline unsigned watch_setting(unsigned own, unsigned fallback)
{
	return own ? own : fallback;
}

/* Whether a recorded health says the uplink's link took it down (not
 * its probes): a restarted watch brings it back on the first answer. */
bool watch_down_by_link(const struct mlb_health *h);

/* Uplink u's link as the kernel has it now: link, or NULL when it could
 * not be looked up (lookup_error: the lookup's message).  A failed link
 * takes the uplink down at once; one that is back ends its round, to be
 * probed at once and return on the first answer. */
void watch_judge_link(const struct mlb_state_uplink *u, struct uplink_watch *w,
		      const struct mlb_link_info *link,
		      const char *lookup_error, struct uplink_verdict *v);

/* Cancel the probes of w's round still in flight. */
void watch_cancel_round(struct uplink_watch *w);

/* Start uplink u's probe round at now (µs); false if no probe could be
 * sent, so the round is over at once.  d: the settings of uplinks that
 * did not give their own. */
bool watch_start_round(const struct mlb_state_uplink *u, struct uplink_watch *w,
		       uint64_t now, const struct watch_defaults *d);

/* Whether every probe of w's round in flight has answered or timed out
 * at now (µs), taking up the first answer. */
bool watch_round_over(struct uplink_watch *w, uint64_t now);

/* Uplink u's round is over, at wall-clock second when: count it into
 * w->health and judge. */
void watch_judge_round(const struct mlb_state_uplink *u, struct uplink_watch *w,
		       const struct watch_defaults *d, uint64_t when,
		       struct uplink_verdict *v);

#endif
