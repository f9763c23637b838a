/* capacity.h - --balance adaptive's judgement: what each uplink carries,
 * from its interface's byte counters and its probes' round trips, and
 * the weights that follow from that.  Pure arithmetic on the records it is handed: no kernel, no clock
 * of its own, no log.  watch_capacity.c reads the counters, keeps the
 * records (struct mlb_capacity, mlb.h) and carries the weights out.
 *
 * An uplink's capacity is the rate it delivered (the larger of received
 * and sent bytes) over a sample of about a second while it was busy.
 * A byte count cannot tell a full link from a light load; a queue can:
 * a full link queues, and its probes' round trip grows past twice the
 * least seen lately (plus CAPACITY_QUEUE_US).  So: a sample of less than
 * CAPACITY_BUSY_BYTES per second says nothing; a higher rate is taken up
 * at once (halfway); a lower one (below 80 % of the estimate) pulls it
 * down halfway only after CAPACITY_LOW_SAMPLES in a row and with the
 * probes seeing a queue (a cut link under load), or after
 * CAPACITY_LIGHT_SAMPLES in a row without (a light load says little; a
 * link whose queue the probes do not pass still gets there); one within
 * 80 % moves it an eighth of the way.  An uplink that carries nothing keeps its last estimate.
 */
#ifndef MLB_CAPACITY_H
#define MLB_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlb.h"

#define CAPACITY_BUSY_BYTES 65536	/* per second */
#define CAPACITY_LOW_SAMPLES 3
#define CAPACITY_LIGHT_SAMPLES 30
#define CAPACITY_QUEUE_US 2000
#define CAPACITY_MIN_SAMPLE_US 500000	/* shorter: wait for more */
/* The fastest measured uplink's weight; the others' are in proportion. */
#define CAPACITY_WEIGHT_SCALE 1000
/* Weights are rewritten only when one moves by more than this share of
 * its value (hysteresis: no flip for noise). */
#define CAPACITY_CHANGE_PCT 10

/* Take in an uplink's counters (interface ifindex, received and sent
 * bytes) and its last probe's round trip (rtt_us, 0: none) at now_us.  Returns true when this ended a sample (c->sample_bps
 * is its rate); false when it only started one: the first look, a new
 * interface index or counters that went back (the interface was made
 * again), or less than CAPACITY_MIN_SAMPLE_US since the last. */
bool capacity_sample(struct mlb_capacity *c, uint32_t ifindex, uint64_t rx,
		     uint64_t tx, uint32_t rtt_us, uint64_t now_us);

/* One uplink as the weights see it. */
struct capacity_uplink {
	bool live;			/* not down */
	bool fixed;			/* adapt=no */
	unsigned given;			/* the weight the user gave */
	uint64_t bps;			/* measured capacity (0: not yet) */
	unsigned current;		/* the weight in force (0: none) */
};

/* The weights new sockets should get, and why (MLB_WEIGHT_WHY_*), for
 * n uplinks.  Until some live adapting uplink is measured, the given
 * weights, scaled so the largest is CAPACITY_WEIGHT_SCALE.  Then each measured adapting uplink's share of the fastest
 * one's capacity, scaled to CAPACITY_WEIGHT_SCALE and never below
 * floor_pct of it, and CAPACITY_WEIGHT_SCALE for one not measured yet
 * (so it gets connections, and is); from the weights in force at most a
 * doubling or a halving per call (after scaling them the same way).
 * adapt=no uplinks keep their given weight, on that scale (the fastest
 * measured uplink's is CAPACITY_WEIGHT_SCALE); down uplinks get 0. */
void capacity_weights(const struct capacity_uplink *in, unsigned n,
		      unsigned floor_pct, unsigned *weight, unsigned *why);

/* Whether the new weights differ from the ones in force enough to be
 * written: an uplink in or out, or one moving by more than
 * CAPACITY_CHANGE_PCT of its weight. */
bool capacity_weights_moved(const unsigned *current, const unsigned *next,
			    unsigned n);

/* "48.2 Mbit/s" and the like, into buf. */
void capacity_rate_text(uint64_t bps, char *buf, size_t len);

/* The words status and watch's log use for a MLB_WEIGHT_WHY_*. */
const char *capacity_why_name(unsigned why);

#endif
