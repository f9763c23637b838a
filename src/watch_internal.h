/* watch_internal.h - what watch's files share: the record of one
 * attachment watched, and watch's log (watch_log.c).  Not part of any
 * public API.
 */
#ifndef MLB_WATCH_INTERNAL_H
#define MLB_WATCH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "loader.h"
#include "state.h"
#include "watch_capacity.h"
#include "watch_uplinks.h"

#define MAX_WATCHED 64

/* One attachment watched. */
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
	struct capacity_watch capacity;	/* --balance adaptive */
	/* the last sampling failure logged */
	char capacity_logged[sizeof(((struct mlb_err *)0)->msg)];
	bool reweighed;			/* by the sample: apply_weights need not */
};

static inline const char *uplink_name(const struct attachment_watch *a,
				      unsigned i)
{
	return a->state.uplinks[i].ifname;
}

/* One line on stderr, "mlb-bpf watch: ..." (the journal under systemd). */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The id of the BPF link pinned for cgroup id now (0 if none): a
 * re-attach makes a new one. */
uint32_t current_link_id(uint64_t id);

#endif
