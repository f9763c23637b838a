/* test_capacity.c - --balance adaptive's judgement: samples from counters
 * (light ones ignored, rises taken at once, falls only after three busy
 * samples in a row, a new interface starting afresh) and the weights
 * that follow (given until all are measured, shares of the fastest,
 * the floor, a bounded step, adapt=no, down uplinks, hysteresis). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "capacity.h"

#define SEC 1000000ULL
#define MBIT(x) ((uint64_t)(x) * 1000000 / 8)	/* bytes in a second */

/* Feed one uplink a second at a time at mbit Mbit/s, counting on from
 * its last counters, its probes answering in rtt µs; returns the
 * estimate. */
static uint64_t feed_rtt(struct mlb_capacity *c, uint64_t *now,
			 unsigned seconds, unsigned mbit, uint32_t rtt)
{
	for (unsigned s = 0; s < seconds; s++) {
		*now += SEC;
		assert_true(capacity_sample(c, 7, c->rx_bytes + MBIT(mbit),
					    c->tx_bytes + 100, rtt, *now));
	}
	return c->bps;
}

#define BASE 500		/* µs: no queue */
#define QUEUED 40000		/* a full link's queue */

static uint64_t feed(struct mlb_capacity *c, uint64_t *now, unsigned seconds,
		     unsigned mbit)
{
	return feed_rtt(c, now, seconds, mbit, BASE);
}

static void test_first_look_starts_a_sample(void **state)
{
	struct mlb_capacity c = { 0 };

	(void)state;
	assert_false(capacity_sample(&c, 7, 1000, 1000, BASE, SEC));
	assert_int_equal(c.bps, 0);
	/* too soon: the sample goes on */
	assert_false(capacity_sample(&c, 7, 2000, 2000, BASE, SEC + 100000));
	assert_true(capacity_sample(&c, 7, 1000 + MBIT(8), 2000, BASE,
				    2 * SEC));
	assert_int_equal(c.bps, 8000000);
}

static void test_light_samples_say_nothing(void **state)
{
	struct mlb_capacity c = { 0 };
	uint64_t now = SEC;

	(void)state;
	capacity_sample(&c, 7, 0, 0, BASE, now);
	assert_int_equal(feed(&c, &now, 1, 40), 40000000);
	/* 0.4 Mbit/s is below the busy threshold: the estimate holds */
	assert_int_equal(feed(&c, &now, 10, 0), 40000000);
	assert_int_equal(c.lows, 0);
}

static void test_rise_at_once_fall_after_three(void **state)
{
	struct mlb_capacity c = { 0 };
	uint64_t now = SEC;

	(void)state;
	capacity_sample(&c, 7, 0, 0, BASE, now);
	feed(&c, &now, 1, 10);
	assert_int_equal(feed(&c, &now, 1, 50), 30000000);	/* halfway */
	assert_int_equal(feed(&c, &now, 1, 50), 40000000);
	/* one or two slow samples do not pull it down, queue or not */
	assert_int_equal(feed_rtt(&c, &now, 2, 5, QUEUED), 40000000);
	/* within 80 %: an eighth of the way, and the count starts again */
	assert_int_equal(feed(&c, &now, 1, 32), 39000000);
	assert_int_equal(c.lows, 0);
	assert_int_equal(feed_rtt(&c, &now, 2, 5, QUEUED), 39000000);
	/* the third in a row with a queue does, and each after it */
	assert_int_equal(feed_rtt(&c, &now, 1, 5, QUEUED), 22000000);
	assert_true(feed_rtt(&c, &now, 20, 5, QUEUED) < 5500000);
}

static void test_light_load_falls_slowly(void **state)
{
	struct mlb_capacity c = { 0 };
	uint64_t now = SEC;

	(void)state;
	capacity_sample(&c, 7, 0, 0, BASE, now);
	feed(&c, &now, 1, 40);
	/* 5 Mbit/s with no queue: a light load, not a slow link */
	assert_int_equal(feed(&c, &now, CAPACITY_LIGHT_SAMPLES - 1, 5),
			 40000000);
	/* ... until it lasts */
	assert_int_equal(feed(&c, &now, 1, 5), 22500000);
	/* the least round trip creeps up to a longer path's */
	for (unsigned s = 0; s < 100; s++)
		feed_rtt(&c, &now, 1, 40, 3 * BASE);
	assert_int_equal(c.rtt_min_us, 3 * BASE);
}

static void test_new_interface_starts_afresh(void **state)
{
	struct mlb_capacity c = { 0 };
	uint64_t now = SEC;

	(void)state;
	capacity_sample(&c, 7, 0, 0, BASE, now);
	feed(&c, &now, 1, 20);
	/* made again: new index, counters from 0 */
	assert_false(capacity_sample(&c, 9, 10, 10, BASE, now + SEC));
	assert_int_equal(c.bps, 20000000);	/* the estimate stays */
	assert_true(capacity_sample(&c, 9, 10 + MBIT(20), 10, BASE,
				    now + 2 * SEC));
	/* counters that went back (same index) start afresh too */
	assert_false(capacity_sample(&c, 9, 5, 5, BASE, now + 3 * SEC));
}

static void weigh(const struct capacity_uplink *in, unsigned n, unsigned floor,
		  unsigned *w, unsigned *why)
{
	capacity_weights(in, n, floor, w, why);
}

static void test_given_until_measured(void **state)
{
	struct capacity_uplink in[3] = {
		{ .live = true, .given = 3 },
		{ .live = true, .given = 1 },
		{ .live = true, .given = 1 },
	};
	unsigned w[3], why[3];

	(void)state;
	weigh(in, 3, 5, w, why);
	assert_int_equal(w[0], 1000);	/* scaled: the largest is 1000 */
	assert_int_equal(w[2], 333);
	assert_int_equal(why[1], MLB_WEIGHT_WHY_START);
	/* one not measured yet counts as the fastest until it is */
	in[0].bps = 50000000;
	in[1].bps = 10000000;
	weigh(in, 3, 5, w, why);
	assert_int_equal(w[2], 1000);
	assert_int_equal(why[2], MLB_WEIGHT_WHY_UNMEASURED);
	assert_int_equal(w[1], 200);
	/* a down uplink need not be measured */
	in[2].live = false;
	weigh(in, 3, 5, w, why);
	assert_int_equal(w[0], 1000);
	assert_int_equal(w[1], 200);
	assert_int_equal(w[2], 0);
	assert_int_equal(why[2], MLB_WEIGHT_WHY_DOWN);
	assert_int_equal(why[1], MLB_WEIGHT_WHY_MEASURED);
}

static void test_shares_and_floor(void **state)
{
	struct capacity_uplink in[3] = {
		{ .live = true, .given = 1, .bps = 50000000 },
		{ .live = true, .given = 1, .bps = 10000000 },
		{ .live = true, .given = 1, .bps = 1000000 },
	};
	unsigned w[3], why[3];

	(void)state;
	weigh(in, 3, 5, w, why);
	assert_int_equal(w[0], 1000);
	assert_int_equal(w[1], 200);
	assert_int_equal(w[2], 50);		/* 20 is below 5 % */
	assert_int_equal(why[2], MLB_WEIGHT_WHY_FLOOR);
	weigh(in, 3, 1, w, why);
	assert_int_equal(w[2], 20);
	assert_int_equal(why[2], MLB_WEIGHT_WHY_MEASURED);
	/* every live uplink keeps a share, however slow */
	in[2].bps = 1;
	weigh(in, 3, 1, w, why);
	assert_true(w[2] >= 10);
}

static void test_bounded_step(void **state)
{
	struct capacity_uplink in[3] = {
		{ .live = true, .given = 1, .bps = 50000000, .current = 1 },
		{ .live = true, .given = 1, .bps = 10000000, .current = 1 },
		{ .live = true, .given = 1, .bps = 2000000, .current = 1 },
	};
	unsigned w[3], why[3], steps = 0;

	(void)state;
	/* from 1:1:1 (scaled: 1000 each) at most a halving per call */
	weigh(in, 3, 5, w, why);
	assert_int_equal(w[0], 1000);
	assert_int_equal(w[1], 500);
	assert_int_equal(w[2], 500);
	assert_int_equal(why[1], MLB_WEIGHT_WHY_STEP);
	while (why[2] == MLB_WEIGHT_WHY_STEP && steps++ < 10) {
		for (unsigned i = 0; i < 3; i++)
			in[i].current = w[i];
		weigh(in, 3, 5, w, why);
	}
	assert_int_equal(w[1], 200);
	assert_int_equal(w[2], 50);
	assert_true(steps <= 4);
	/* the fast uplink cut to 5: shares swap within two calls */
	in[0].bps = 5000000;
	for (unsigned k = 0; k < 2; k++) {
		for (unsigned i = 0; i < 3; i++)
			in[i].current = w[i];
		weigh(in, 3, 5, w, why);
	}
	assert_true(w[1] > w[0]);
	assert_true(w[0] > w[2]);
}

static void test_fixed_and_down(void **state)
{
	struct capacity_uplink in[3] = {
		{ .live = true, .given = 1, .bps = 50000000 },
		{ .live = true, .fixed = true, .given = 700 },
		{ .live = false, .given = 1, .bps = 2000000 },
	};
	unsigned w[3], why[3];

	(void)state;
	weigh(in, 3, 5, w, why);
	assert_int_equal(w[0], 1000);
	assert_int_equal(w[1], 700);
	assert_int_equal(why[1], MLB_WEIGHT_WHY_FIXED);
	assert_int_equal(w[2], 0);
}

static void test_hysteresis(void **state)
{
	unsigned a[3] = { 1000, 200, 50 }, b[3] = { 1000, 215, 54 };
	unsigned c[3] = { 1000, 230, 50 }, d[3] = { 1000, 200, 0 };

	(void)state;
	assert_false(capacity_weights_moved(a, a, 3));
	assert_false(capacity_weights_moved(a, b, 3));	/* within 10 % */
	assert_true(capacity_weights_moved(a, c, 3));
	assert_true(capacity_weights_moved(a, d, 3));	/* one out */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_look_starts_a_sample),
		cmocka_unit_test(test_light_samples_say_nothing),
		cmocka_unit_test(test_rise_at_once_fall_after_three),
		cmocka_unit_test(test_light_load_falls_slowly),
		cmocka_unit_test(test_new_interface_starts_afresh),
		cmocka_unit_test(test_given_until_measured),
		cmocka_unit_test(test_shares_and_floor),
		cmocka_unit_test(test_bounded_step),
		cmocka_unit_test(test_fixed_and_down),
		cmocka_unit_test(test_hysteresis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
