/* watch_capacity.c - sampling the uplinks and keeping adaptive weights
 * (see watch_capacity.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capacity.h"
#include "link_stats.h"
#include "loader_capacity.h"
#include "watch_capacity.h"

void watch_capacity_init(struct capacity_watch *cw)
{
	memset(cw, 0, sizeof(*cw));
	cw->fd = -1;
}

void watch_capacity_close(struct capacity_watch *cw)
{
	if (cw->fd >= 0)
		close(cw->fd);
	watch_capacity_init(cw);
}

bool watch_capacity_due(const struct capacity_watch *cw,
			const struct mlb_state *state, uint64_t now)
{
	return state->balance == MLB_BALANCE_ADAPTIVE && now >= cw->next_us;
}

/* The map, made if need be, and what an earlier watch recorded in it. */
static int open_map(struct capacity_watch *cw, const struct mlb_state *state,
		    struct mlb_err *err)
{
	if (cw->fd >= 0)
		return 0;
	cw->fd = loader_open_capacity(state->cgroup_id, true, err);
	if (cw->fd < 0)
		return -1;
	if (loader_read_capacity(cw->fd, state->nuplinks, cw->up, err)) {
		watch_capacity_close(cw);
		return -1;
	}
	return 0;
}

int watch_capacity_sample(struct capacity_watch *cw,
			  const struct mlb_state *state, const uint32_t *rtt_us,
			  uint64_t now, struct mlb_err *err)
{
	char names[MLB_MAX_UPLINKS][IF_NAMESIZE];
	struct link_stats stats[MLB_MAX_UPLINKS];

	cw->next_us = now + WATCH_CAPACITY_SAMPLE_US;
	if (open_map(cw, state, err))
		return -1;
	for (unsigned i = 0; i < state->nuplinks; i++)
		memcpy(names[i], state->uplinks[i].ifname, IF_NAMESIZE);
	link_stats_read(names, state->nuplinks, stats);
	for (unsigned i = 0; i < state->nuplinks; i++) {
		if (!stats[i].read)
			continue;	/* gone: its estimate stays */
		capacity_sample(&cw->up[i], stats[i].ifindex,
				stats[i].rx_bytes, stats[i].tx_bytes, rtt_us[i],
				now);
		if (loader_write_capacity(cw->fd, i, &cw->up[i], err))
			return -1;
	}
	return 0;
}

/* "up0 1000 (measured 48.2 Mbit/s)" for each uplink, into line. */
static void describe(const struct capacity_watch *cw,
		     const struct mlb_state *state, char *line, size_t len)
{
	size_t used = 0;

	line[0] = 0;
	for (unsigned i = 0; i < state->nuplinks && used < len; i++) {
		const struct mlb_capacity *c = &cw->up[i];
		char rate[32] = "";

		if (c->bps && c->why != MLB_WEIGHT_WHY_FIXED &&
		    c->why != MLB_WEIGHT_WHY_DOWN) {
			rate[0] = ',';
			rate[1] = ' ';
			capacity_rate_text(c->bps, rate + 2, sizeof(rate) - 2);
		}
		used += (size_t)snprintf(line + used, len - used, "%s%s %u (%s%s)",
					 i ? ", " : "",
					 state->uplinks[i].ifname, c->weight,
					 capacity_why_name(c->why), rate);
	}
}

bool watch_capacity_reweigh(struct capacity_watch *cw,
			    const struct mlb_state *state, const bool *live,
			    char *line, size_t len)
{
	struct capacity_uplink in[MLB_MAX_UPLINKS] = { 0 };
	unsigned current[MLB_MAX_UPLINKS], next[MLB_MAX_UPLINKS];
	unsigned why[MLB_MAX_UPLINKS], n = state->nuplinks < MLB_MAX_UPLINKS ?
					       state->nuplinks : MLB_MAX_UPLINKS;
	bool set = false, whys = false;
	struct mlb_err ignored;

	for (unsigned i = 0; i < n; i++) {
		in[i] = (struct capacity_uplink){
			.live = live[i],
			.fixed = (state->fixed >> i) & 1,
			.given = state->uplinks[i].weight,
			.bps = cw->up[i].bps,
			.current = cw->up[i].weight,
		};
		current[i] = cw->up[i].weight;
		set |= cw->up[i].why != 0;
	}
	capacity_weights(in, n, mlb_floor_pct(state), next, why);
	for (unsigned i = 0; i < n; i++)
		whys |= why[i] != cw->up[i].why &&
			(why[i] == MLB_WEIGHT_WHY_START ||
			 why[i] == MLB_WEIGHT_WHY_FIXED);
	if (set && !whys && !capacity_weights_moved(current, next, n))
		return false;
	for (unsigned i = 0; i < n; i++) {
		if (cw->up[i].weight != next[i])
			cw->up[i].changed = (uint64_t)time(NULL);
		cw->up[i].weight = next[i];
		cw->up[i].why = why[i];
		if (cw->fd >= 0)
			loader_write_capacity(cw->fd, i, &cw->up[i], &ignored);
	}
	describe(cw, state, line, len);
	return true;
}

bool watch_capacity_weights(const struct capacity_watch *cw,
			    const struct mlb_state *state, unsigned *weights)
{
	bool set = false;

	for (unsigned i = 0; i < state->nuplinks; i++) {
		weights[i] = cw->up[i].weight;
		set |= cw->up[i].why != 0;
	}
	return set;
}
