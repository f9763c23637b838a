/* watch_uplinks.h - watch's judgement of each uplink (link checks,
 * routing repair, probe rounds, health and the slot table flip that
 * follows), and the records it judges.  watch.c, above, runs the loop,
 * owns the attachments watched and the settings, and hands each call
 * what it needs.
 */
#ifndef MLB_WATCH_UPLINKS_H
#define MLB_WATCH_UPLINKS_H

#include <stdbool.h>
#include <stdint.h>

#include "loader.h"
#include "probe.h"
#include "state.h"
#include "watch_defaults.h"

#define MAX_WATCHED 64

/* One uplink of one attachment. */
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

struct attachment_watch {
	bool used;
	uint64_t id;
	uint32_t link_id;		/* a re-attach makes a new link */
	struct mlb_pins pins;
	struct mlb_state state;
	int events;			/* netlink socket in its namespace */
	bool check_links;		/* an event arrived, or first look */
	bool reachable;			/* its namespace could be entered */
	bool weights_pending;		/* a slot table flip still to make */
	char forward_logged[192];	/* the last tc refresh failure logged */
	struct uplink_watch up[MLB_MAX_UPLINKS];
};
/* An uplink's own setting, or watch's default. */
static inline unsigned watch_setting(unsigned own, unsigned fallback)
{
	return own ? own : fallback;
}

/* One line on stderr, "mlb-bpf watch: ..." (the journal under systemd). */
void watch_log_line(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* The id of the BPF link pinned for cgroup id now (0 if none): a
 * re-attach makes a new one. */
uint32_t watch_current_link_id(uint64_t id);

/* Record and log a new health state of uplink i (no-op if unchanged). */
void watch_set_state(struct attachment_watch *a, unsigned i, __u32 state,
		     const char *reason);

/* Whether a recorded health says the uplink's link took it down (not
 * its probes): a restarted watch brings it back on the first answer. */
bool watch_down_by_link(const struct mlb_health *h);

/* Take up what `apply` changed in place since the record was read. */
void watch_refresh_state(struct attachment_watch *a);

/* Under the writers' lock: new sockets to the uplinks that are not down,
 * by their weights (one flip of the slot table). */
void watch_apply_weights(struct attachment_watch *a);

/* In the attachment's namespace: look every uplink's link up (next gets
 * what the kernel has now); returns true if some uplink went down. */
bool watch_check_links(struct attachment_watch *a, struct mlb_state *next);

/* In the attachment's namespace, under the writers' lock: record next
 * and make the routing what the record says.  all[0..n-1] are every
 * attachment watched (slots with used set): of those sharing a's
 * routing, the first repairs it. */
void watch_repair_routing(struct attachment_watch *a, struct mlb_state *next,
			  struct attachment_watch *all, unsigned n);

/* Start uplink i's probe round; false if no probe could be sent.  d: the
 * settings of uplinks that did not give their own. */
bool watch_start_round(struct attachment_watch *a, unsigned i, uint64_t now,
		       const struct watch_defaults *d);

/* Uplink i's round is over: count it and decide; true if its state
 * changed. */
bool watch_end_round(struct attachment_watch *a, unsigned i,
		     const struct watch_defaults *d);

/* Look at the probes in flight; true if some state changed. */
bool watch_collect(struct attachment_watch *a, uint64_t now,
		   const struct watch_defaults *d);

#endif
