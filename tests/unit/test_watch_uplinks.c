/* test_watch_uplinks.c - watch's judgement of one uplink: the verdicts
 * of link checks and probe rounds, without a kernel (the rounds here are
 * decided, never sent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "watch_uplinks.h"

static const struct watch_defaults defaults = {
	.probe_type = MLB_PROBE_ICMP,
	.interval_ms = 1000,
	.timeout_ms = 1000,
	.down = 3,
	.up = 3,
};

static struct mlb_state_uplink uplink;
static struct uplink_watch w;

static int set_up(void **state)
{
	(void)state;
	memset(&uplink, 0, sizeof(uplink));
	snprintf(uplink.ifname, sizeof(uplink.ifname), "up0");
	uplink.addr = 0x0200000a;
	uplink.gateway = 0x0100000a;
	memset(&w, 0, sizeof(w));
	w.health.state = MLB_HEALTH_UP;
	w.link_ok = true;
	w.routing_ok = true;
	return 0;
}

/* A round over with or without an answer; the verdict in v. */
static void round_over(bool answered, struct uplink_verdict *v)
{
	w.round_ok = answered;
	watch_judge_round(&uplink, &w, &defaults, 1000, v);
	/* watch.c carries a change out; here the record takes it */
	if (v->change) {
		w.health.state = v->state;
		snprintf(w.health.reason, sizeof(w.health.reason), "%s",
			 v->reason);
	}
}

static void test_down_after_the_third_failed_round(void **state)
{
	struct uplink_verdict v;

	(void)state;
	round_over(false, &v);
	assert_false(v.change);
	round_over(false, &v);
	assert_false(v.change);
	round_over(false, &v);
	assert_true(v.change);
	assert_int_equal(v.state, MLB_HEALTH_DOWN);
	assert_string_equal(v.reason, "3 probes failed");
	assert_false(watch_down_by_link(&w.health));
}

static void test_own_setting_wins_over_the_default(void **state)
{
	struct uplink_verdict v;

	(void)state;
	uplink.down = 1;
	round_over(false, &v);
	assert_true(v.change);
	assert_string_equal(v.reason, "1 probes failed");
}

static void test_an_answer_without_routing_is_a_failure(void **state)
{
	struct uplink_verdict v;

	(void)state;
	w.routing_ok = false;
	for (int k = 0; k < 3; k++)
		round_over(true, &v);
	assert_true(v.change);
	assert_int_equal(v.state, MLB_HEALTH_DOWN);
	assert_false(w.health.last_ok);
}

static void test_down_by_probes_needs_up_answers(void **state)
{
	struct uplink_verdict v;

	(void)state;
	for (int k = 0; k < 3; k++)
		round_over(false, &v);
	round_over(true, &v);
	assert_false(v.change);
	round_over(true, &v);
	assert_false(v.change);
	round_over(true, &v);
	assert_true(v.change);
	assert_int_equal(v.state, MLB_HEALTH_UP);
	assert_string_equal(v.reason, "3 probes answered");
}

static void test_down_by_link_back_on_the_first_answer(void **state)
{
	struct mlb_link_info link = { .admin_up = false, .carrier = true,
				      .has_addr4 = true };
	struct uplink_verdict v;

	(void)state;
	watch_judge_link(&uplink, &w, &link, "", &v);
	assert_true(v.change);
	assert_int_equal(v.state, MLB_HEALTH_DOWN);
	assert_string_equal(v.reason, "admin down");
	assert_false(w.link_ok);
	w.health.state = v.state;
	snprintf(w.health.reason, sizeof(w.health.reason), "%s", v.reason);
	assert_true(watch_down_by_link(&w.health));

	/* still down: no second verdict */
	watch_judge_link(&uplink, &w, &link, "", &v);
	assert_false(v.change);

	link.admin_up = true;
	w.health.fails = 2;
	w.next_probe_us = 12345;
	watch_judge_link(&uplink, &w, &link, "", &v);
	assert_false(v.change);
	assert_true(w.link_ok);
	assert_int_equal(w.health.fails, 0);
	assert_int_equal(w.next_probe_us, 0);	/* probed at once */

	round_over(true, &v);
	assert_true(v.change);
	assert_int_equal(v.state, MLB_HEALTH_UP);
	assert_string_equal(v.reason, "link back, probe answered");
}

static void test_link_problems_named(void **state)
{
	struct mlb_link_info link = { .admin_up = true, .carrier = false,
				      .has_addr4 = true };
	struct uplink_verdict v;

	(void)state;
	watch_judge_link(&uplink, &w, &link, "", &v);
	assert_string_equal(v.reason, "carrier lost");

	set_up(NULL);
	link.carrier = true;
	link.has_addr4 = false;
	link.has_addr6 = true;	/* an IPv4 uplink needs its IPv4 address */
	watch_judge_link(&uplink, &w, &link, "", &v);
	assert_string_equal(v.reason, "address removed");

	set_up(NULL);
	watch_judge_link(&uplink, &w, NULL,
			 "interface \"up0\" has no IPv4 or global IPv6 address",
			 &v);
	assert_string_equal(v.reason, "address removed");

	set_up(NULL);
	watch_judge_link(&uplink, &w, NULL,
			 "interface \"up0\" does not exist", &v);
	assert_string_equal(v.reason, "interface gone");
}

static void test_uplink_without_probe_target_judged_by_link(void **state)
{
	struct uplink_verdict v;

	(void)state;
	uplink.gateway = 0;
	assert_false(watch_start_round(&uplink, &w, 5000000, &defaults));
	assert_true(w.round_ok);
	assert_int_equal(w.next_probe_us, 5000000 + 1000000);
	round_over(w.round_ok, &v);
	assert_false(v.change);
	assert_int_equal(w.health.successes, 1);

	w.link_ok = false;
	watch_start_round(&uplink, &w, 6000000, &defaults);
	assert_false(w.round_ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_down_after_the_third_failed_round, set_up),
		cmocka_unit_test_setup(test_own_setting_wins_over_the_default, set_up),
		cmocka_unit_test_setup(test_an_answer_without_routing_is_a_failure, set_up),
		cmocka_unit_test_setup(test_down_by_probes_needs_up_answers, set_up),
		cmocka_unit_test_setup(test_down_by_link_back_on_the_first_answer, set_up),
		cmocka_unit_test_setup(test_link_problems_named, set_up),
		cmocka_unit_test_setup(test_uplink_without_probe_target_judged_by_link, set_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
