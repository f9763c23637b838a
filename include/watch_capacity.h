/* watch_capacity.h - watch's part of --balance adaptive: once a second,
 * each adaptive attachment's uplinks' interface counters are sampled
 * (capacity.h judges what they carry), and the weights that follow are
 * kept in the attachment's capacity map (loader_capacity.h) for status,
 * metrics and a restarted watch.  watch.c, above, enters the namespace,
 * logs the lines this writes and flips the slot table.
 */
#ifndef MLB_WATCH_CAPACITY_H
#define MLB_WATCH_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "state.h"

#define WATCH_CAPACITY_SAMPLE_US 1000000

/* What watch keeps of one attachment's capacity. */
struct capacity_watch {
	int fd;				/* the capacity map; -1: not open */
	uint64_t next_us;		/* the next sample is due */
	struct mlb_capacity up[MLB_MAX_UPLINKS];
};

void watch_capacity_init(struct capacity_watch *cw);
void watch_capacity_close(struct capacity_watch *cw);

/* Whether state's attachment is adaptive and a sample is due at now. */
bool watch_capacity_due(const struct capacity_watch *cw,
			const struct mlb_state *state, uint64_t now);

/* In the attachment's namespace: read its uplinks' counters and take a
 * sample at now, with each uplink's last probe round trip (0: none; the
 * map made and its records taken up on first use). */
int watch_capacity_sample(struct capacity_watch *cw,
			  const struct mlb_state *state, const uint32_t *rtt_us,
			  uint64_t now, struct mlb_err *err);

/* The weights from the estimates, with live[i] saying uplink i is not
 * down.  When they moved enough to be put in force (capacity.h), they are
 * recorded and true is returned, with one line for the log saying what
 * each uplink gets and why. */
bool watch_capacity_reweigh(struct capacity_watch *cw,
			    const struct mlb_state *state, const bool *live,
			    char *line, size_t len);

/* The weights in force into weights[0..nuplinks), for the slot table;
 * false while watch has set none (the given weights stand). */
bool watch_capacity_weights(const struct capacity_watch *cw,
			    const struct mlb_state *state, unsigned *weights);

#endif
