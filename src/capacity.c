/* capacity.c - what each uplink carries, and the weights that follow
 * (see capacity.h). */
#include <stdio.h>

#include "capacity.h"

/* Whether the probes see a queue: a round trip past twice the least
 * seen lately.  The least creeps up a sixteenth a sample, so a path that
 * got longer for good is learnt again. */
static bool queued(struct mlb_capacity *c, uint32_t rtt_us)
{
	c->rtt_us = rtt_us;
	if (!rtt_us)
		return false;
	if (!c->rtt_min_us || rtt_us <= c->rtt_min_us) {
		c->rtt_min_us = rtt_us;
		return false;
	}
	c->rtt_min_us += c->rtt_min_us / 16 + 1;
	if (c->rtt_min_us > rtt_us)
		c->rtt_min_us = rtt_us;
	return rtt_us > 2 * c->rtt_min_us + CAPACITY_QUEUE_US;
}

bool capacity_sample(struct mlb_capacity *c, uint32_t ifindex, uint64_t rx,
		     uint64_t tx, uint32_t rtt_us, uint64_t now_us)
{
	uint64_t dt, bytes, drx, dtx;
	bool queue;

	if (!c->sampled_us || c->ifindex != ifindex || rx < c->rx_bytes ||
	    tx < c->tx_bytes || now_us < c->sampled_us) {
		c->ifindex = ifindex;
		c->rx_bytes = rx;
		c->tx_bytes = tx;
		c->sampled_us = now_us;
		c->sample_bps = 0;
		c->lows = 0;
		return false;
	}
	dt = now_us - c->sampled_us;
	if (dt < CAPACITY_MIN_SAMPLE_US)
		return false;
	drx = rx - c->rx_bytes;
	dtx = tx - c->tx_bytes;
	bytes = drx > dtx ? drx : dtx;
	c->rx_bytes = rx;
	c->tx_bytes = tx;
	c->sampled_us = now_us;
	c->sample_bps = bytes * 8 * 1000000 / dt;
	queue = queued(c, rtt_us);
	if (bytes * 1000000 / dt < CAPACITY_BUSY_BYTES) {
		c->lows = 0;		/* too light to say anything */
		return true;
	}
	if (!c->bps || c->sample_bps >= c->bps) {
		c->bps = c->bps ? (c->bps + c->sample_bps + 1) / 2 :
				  c->sample_bps;
		c->lows = 0;
	} else if (c->sample_bps * 5 < c->bps * 4) {
		c->lows++;
		if ((queue && c->lows >= CAPACITY_LOW_SAMPLES) ||
		    c->lows >= CAPACITY_LIGHT_SAMPLES)
			c->bps = (c->bps + c->sample_bps) / 2;
	} else {
		/* within 80 %: an eighth of the way, and the count of
		 * lows starts again */
		c->bps = (7 * c->bps + c->sample_bps) / 8;
		c->lows = 0;
	}
	return true;
}

/* The uplinks whose weight comes from measurement. */
static bool adapting(const struct capacity_uplink *u)
{
	return u->live && !u->fixed;
}

/* Each uplink's weight from its share of the fastest one's capacity,
 * floored; 0 for those not adapting. */
static void targets(const struct capacity_uplink *in, unsigned n,
		    unsigned floor_pct, unsigned *target, bool *floored)
{
	unsigned floor_w = (CAPACITY_WEIGHT_SCALE * floor_pct + 99) / 100;
	uint64_t max = 0;

	for (unsigned i = 0; i < n; i++)
		if (adapting(&in[i]) && in[i].bps > max)
			max = in[i].bps;
	for (unsigned i = 0; i < n; i++) {
		uint64_t t;

		target[i] = 0;
		floored[i] = false;
		if (!adapting(&in[i]) || !max)
			continue;
		t = (in[i].bps * CAPACITY_WEIGHT_SCALE + max / 2) / max;
		floored[i] = t < floor_w;
		target[i] = floored[i] ? floor_w : (unsigned)t;
	}
}

void capacity_weights(const struct capacity_uplink *in, unsigned n,
		      unsigned floor_pct, unsigned *weight, unsigned *why)
{
	unsigned target[MLB_MAX_UPLINKS], max_current = 0, max_given = 1;
	bool floored[MLB_MAX_UPLINKS], measured = false;

	if (n > MLB_MAX_UPLINKS)
		n = MLB_MAX_UPLINKS;
	for (unsigned i = 0; i < n; i++) {
		measured |= adapting(&in[i]) && in[i].bps;
		if (adapting(&in[i]) && in[i].current > max_current)
			max_current = in[i].current;
		if (adapting(&in[i]) && in[i].given > max_given)
			max_given = in[i].given;
	}
	targets(in, n, floor_pct, target, floored);
	for (unsigned i = 0; i < n; i++) {
		const struct capacity_uplink *u = &in[i];
		uint64_t now, lo, hi;

		if (!u->live) {
			weight[i] = 0;
			why[i] = MLB_WEIGHT_WHY_DOWN;
			continue;
		}
		if (u->fixed) {
			weight[i] = u->given;
			why[i] = MLB_WEIGHT_WHY_FIXED;
			continue;
		}
		if (!measured) {
			/* on the scale of measured (and fixed) weights */
			weight[i] = u->given * CAPACITY_WEIGHT_SCALE / max_given;
			if (!weight[i])
				weight[i] = 1;
			why[i] = MLB_WEIGHT_WHY_START;
			continue;
		}
		if (!u->bps) {
			/* as fast as the fastest until it carries enough
			 * to be measured, so it gets connections */
			weight[i] = CAPACITY_WEIGHT_SCALE;
			why[i] = MLB_WEIGHT_WHY_UNMEASURED;
			continue;
		}
		why[i] = floored[i] ? MLB_WEIGHT_WHY_FLOOR :
				      MLB_WEIGHT_WHY_MEASURED;
		weight[i] = target[i];
		if (!u->current || !max_current)
			continue;	/* back from down, or none yet */
		/* the weight in force, on the targets' scale */
		now = (uint64_t)u->current * CAPACITY_WEIGHT_SCALE / max_current;
		lo = now / 2;
		hi = now * 2;
		if (lo < 1)
			lo = 1;
		if (target[i] < lo || target[i] > hi) {
			weight[i] = (unsigned)(target[i] < lo ? lo : hi);
			why[i] = MLB_WEIGHT_WHY_STEP;
		}
	}
}

bool capacity_weights_moved(const unsigned *current, const unsigned *next,
			    unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned a = current[i], b = next[i];
		unsigned d = a > b ? a - b : b - a;

		if (!a != !b || (uint64_t)d * 100 > (uint64_t)a *
						     CAPACITY_CHANGE_PCT)
			return true;
	}
	return false;
}

void capacity_rate_text(uint64_t bps, char *buf, size_t len)
{
	if (bps >= 1000000000)
		snprintf(buf, len, "%.2f Gbit/s", (double)bps / 1e9);
	else if (bps >= 1000000)
		snprintf(buf, len, "%.1f Mbit/s", (double)bps / 1e6);
	else
		snprintf(buf, len, "%.0f kbit/s", (double)bps / 1e3);
}

const char *capacity_why_name(unsigned why)
{
	switch (why) {
	case MLB_WEIGHT_WHY_START:
		return "given weight, none measured yet";
	case MLB_WEIGHT_WHY_UNMEASURED:
		return "not measured yet, as the fastest";
	case MLB_WEIGHT_WHY_MEASURED:
		return "measured";
	case MLB_WEIGHT_WHY_FLOOR:
		return "floor";
	case MLB_WEIGHT_WHY_STEP:
		return "stepping toward measured";
	case MLB_WEIGHT_WHY_FIXED:
		return "adapt=no";
	case MLB_WEIGHT_WHY_DOWN:
		return "down";
	default:
		return "not set by watch yet";
	}
}
