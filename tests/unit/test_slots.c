/* test_slots.c - slot tables: smooth interleaving, exact shares, gcd
 * reduction, weights of 0, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mlb.h"
#include "slots.h"

static uint8_t table[MLB_MAX_SLOTS];

static unsigned build(const unsigned *weights, unsigned n)
{
	unsigned len = 12345;

	assert_int_equal(mlb_build_slots(weights, n, table, MLB_MAX_SLOTS,
					 &len), 0);
	return len;
}

static void assert_sequence(const uint8_t *expected, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(table[i], expected[i]);
}

static void test_three_to_one_interleaves(void **state)
{
	const unsigned w[] = { 3, 1 };
	const uint8_t want[] = { 0, 0, 1, 0 };

	(void)state;
	assert_int_equal(build(w, 2), 4);
	assert_sequence(want, 4);
}

static void test_equal_weights_round_robin(void **state)
{
	const unsigned w[] = { 1, 1 };
	const unsigned w3[] = { 2, 2, 2 };
	const uint8_t want[] = { 0, 1 }, want3[] = { 0, 1, 2 };

	(void)state;
	assert_int_equal(build(w, 2), 2);
	assert_sequence(want, 2);
	assert_int_equal(build(w3, 3), 3);	/* reduced by the gcd */
	assert_sequence(want3, 3);
}

static void test_five_three_one(void **state)
{
	const unsigned w[] = { 5, 3, 1 };
	unsigned count[3] = { 0 }, run = 0, longest = 0;

	(void)state;
	assert_int_equal(build(w, 3), 9);
	for (unsigned i = 0; i < 9; i++) {
		count[table[i]]++;
		run = i && table[i] == table[i - 1] ? run + 1 : 1;
		if (run > longest)
			longest = run;
	}
	assert_int_equal(count[0], 5);
	assert_int_equal(count[1], 3);
	assert_int_equal(count[2], 1);
	assert_true(longest <= 2);	/* spread out, not 0 0 0 0 0 ... */
}

static void test_gcd_reduction(void **state)
{
	const unsigned w[] = { 600, 200 };
	const uint8_t want[] = { 0, 0, 1, 0 };

	(void)state;
	assert_int_equal(build(w, 2), 4);
	assert_sequence(want, 4);
}

static void test_zero_weight_left_out(void **state)
{
	const unsigned w[] = { 0, 2, 0, 1 };
	unsigned count[4] = { 0 };

	(void)state;
	assert_int_equal(build(w, 4), 3);
	for (unsigned i = 0; i < 3; i++)
		count[table[i]]++;
	assert_int_equal(count[0], 0);
	assert_int_equal(count[1], 2);
	assert_int_equal(count[2], 0);
	assert_int_equal(count[3], 1);
}

static void test_all_zero_gives_empty_table(void **state)
{
	const unsigned w[] = { 0, 0 };

	(void)state;
	assert_int_equal(build(w, 2), 0);
}

static void test_64_uplinks_max_weight_fit(void **state)
{
	unsigned w[MLB_MAX_UPLINKS], count[MLB_MAX_UPLINKS] = { 0 };

	(void)state;
	for (unsigned i = 0; i < MLB_MAX_UPLINKS; i++)
		w[i] = 1000 - i;	/* gcd 1: no reduction */
	unsigned len = build(w, MLB_MAX_UPLINKS);
	unsigned sum = 0;

	for (unsigned i = 0; i < MLB_MAX_UPLINKS; i++)
		sum += w[i];
	assert_int_equal(len, sum);
	for (unsigned i = 0; i < len; i++)
		count[table[i]]++;
	for (unsigned i = 0; i < MLB_MAX_UPLINKS; i++)
		assert_int_equal(count[i], w[i]);
}

static void test_too_many_slots_refused(void **state)
{
	const unsigned w[] = { 7, 5 };
	unsigned len = 99;

	(void)state;
	assert_int_equal(mlb_build_slots(w, 2, table, 11, &len), -1);
	assert_int_equal(mlb_build_slots(w, 2, table, 12, &len), 0);
	assert_int_equal(len, 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_to_one_interleaves),
		cmocka_unit_test(test_equal_weights_round_robin),
		cmocka_unit_test(test_five_three_one),
		cmocka_unit_test(test_gcd_reduction),
		cmocka_unit_test(test_zero_weight_left_out),
		cmocka_unit_test(test_all_zero_gives_empty_table),
		cmocka_unit_test(test_64_uplinks_max_weight_fit),
		cmocka_unit_test(test_too_many_slots_refused),
	};

	return cmocka_run_group_tests_name("slots", tests, NULL, NULL);
}
