/* test_kernel_features.c - the pure side of kernel_features.c: kernel
 * version strings, their order, the refusal line, the list of hidden
 * features, the table itself; and, in this test build, a hidden feature
 * probed as absent (no privileges needed: the kernel is not asked). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernel_features.h"

static void assert_version(const char *release, unsigned major,
			   unsigned minor, unsigned patch)
{
	struct kernel_version v = { 99, 99, 99 };

	assert_int_equal(features_parse_version(release, &v), 0);
	assert_int_equal(v.major, major);
	assert_int_equal(v.minor, minor);
	assert_int_equal(v.patch, patch);
}

static void test_parse_distribution_releases(void **state)
{
	(void)state;
	assert_version("6.1.0-18-amd64", 6, 1, 0);
	assert_version("5.15.0-91-generic", 5, 15, 0);
	assert_version("5.14.0-362.8.1.el9_3.x86_64", 5, 14, 0);
	assert_version("6.18.44-fc-v1045", 6, 18, 44);
	assert_version("6.12", 6, 12, 0);
	assert_version("4.19.0+", 4, 19, 0);
	assert_version("6.6.0.", 6, 6, 0);
}

static void test_parse_refuses_what_is_no_version(void **state)
{
	struct kernel_version v;

	(void)state;
	assert_int_equal(features_parse_version("", &v), -1);
	assert_int_equal(features_parse_version("6", &v), -1);
	assert_int_equal(features_parse_version("6.", &v), -1);
	assert_int_equal(features_parse_version("linux", &v), -1);
	assert_int_equal(features_parse_version("v6.1", &v), -1);
}

static void test_versions_compare_by_number(void **state)
{
	struct kernel_version a = { 5, 15, 0 }, b = { 5, 18, 0 },
			      c = { 6, 1, 0 }, d = { 6, 1, 0 },
			      e = { 6, 1, 12 }, f = { 5, 9, 0 };

	(void)state;
	assert_true(features_version_cmp(&a, &b) < 0);
	assert_true(features_version_cmp(&c, &b) > 0);
	assert_int_equal(features_version_cmp(&c, &d), 0);
	assert_true(features_version_cmp(&e, &c) > 0);
	/* 5.9 is older than 5.12: numbers, not strings */
	assert_true(features_version_cmp(&f, &a) < 0);
}

static void test_refusal_line(void **state)
{
	char buf[512];

	(void)state;
	features_refusal(buf, sizeof(buf), "--lan",
			 features_info(FEAT_CT_KFUNCS), "5.15.0-91-generic",
			 "bpf_skb_ct_lookup");
	assert_string_equal(buf, "--lan needs the conntrack kfuncs "
			    "(Linux 5.18+): this kernel (5.15.0) lacks "
			    "bpf_skb_ct_lookup");
	/* no detail: the feature's own; an odd release as it is */
	features_refusal(buf, sizeof(buf), "--record-sockets",
			 features_info(FEAT_SK_STORAGE), "weird", NULL);
	assert_string_equal(buf, "--record-sockets needs socket storage in "
			    "cgroup/sock_create (Linux 5.9+): this kernel "
			    "(weird) lacks bpf_sk_storage_get in "
			    "cgroup/sock_create");
	features_refusal(buf, sizeof(buf), "every attachment",
			 features_info(FEAT_CGROUP_LINK), "5.4.0", "");
	assert_string_equal(buf, "every attachment needs BPF links for "
			    "cgroups (Linux 5.7+): this kernel (5.4.0) lacks "
			    "BPF_LINK_CREATE for cgroups");
}

static void test_listed_matches_whole_keys(void **state)
{
	(void)state;
	assert_true(features_listed("tcx", "tcx"));
	assert_true(features_listed("tcx,ct_kfuncs", "ct_kfuncs"));
	assert_true(features_listed("sk_storage,tcx", "tcx"));
	assert_false(features_listed("ct_kfuncs", "ct"));
	assert_false(features_listed("tcx2", "tcx"));
	assert_false(features_listed("", "tcx"));
	assert_false(features_listed(NULL, "tcx"));
	assert_false(features_listed(",", "tcx"));
}

/* Every feature has what the refusal line and `features` show, a first
 * release that parses, and a key of its own. */
static void test_table_is_complete(void **state)
{
	(void)state;
	for (int f = 0; f < FEAT_COUNT; f++) {
		const struct feature_info *i = features_info(f);
		struct kernel_version v;

		assert_non_null(i);
		assert_non_null(i->key);
		assert_non_null(i->name);
		assert_non_null(i->needed_by);
		assert_true(i->lacks && *i->lacks);
		assert_int_equal(features_parse_version(i->since, &v), 0);
		assert_int_equal(features_required(f),
				 !strcmp(i->needed_by, "every attachment"));
		for (int g = 0; g < f; g++)
			assert_string_not_equal(i->key,
						features_info(g)->key);
	}
	assert_null(features_info(FEAT_COUNT));
}

#ifdef MLB_TEST_HOOKS
/* A hidden feature is absent without asking the kernel, and its refusal
 * names what a kernel without it lacks. */
static void test_hidden_feature_is_absent(void **state)
{
	struct feature_result r;
	struct mlb_err err = { "" };

	(void)state;
	setenv("MLB_TEST_HIDE_FEATURES", "tcx,ct_kfuncs", 1);
	assert_int_equal(features_probe(FEAT_TCX, &r), FEATURE_ABSENT);
	assert_string_equal(r.detail, "BPF_TCX_INGRESS");
	assert_false(features_have(FEAT_TCX));
	assert_int_equal(features_require(FEAT_CT_KFUNCS, "--lan", false,
					  &err), -1);
	assert_non_null(strstr(err.msg, "--lan needs the conntrack kfuncs "
			       "(Linux 5.18+): this kernel ("));
	assert_non_null(strstr(err.msg, ") lacks bpf_skb_ct_lookup"));
	unsetenv("MLB_TEST_HIDE_FEATURES");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_distribution_releases),
		cmocka_unit_test(test_parse_refuses_what_is_no_version),
		cmocka_unit_test(test_versions_compare_by_number),
		cmocka_unit_test(test_refusal_line),
		cmocka_unit_test(test_listed_matches_whole_keys),
		cmocka_unit_test(test_table_is_complete),
#ifdef MLB_TEST_HOOKS
		cmocka_unit_test(test_hidden_feature_is_absent),
#endif
	};

	return cmocka_run_group_tests_name("kernel_features", tests, NULL,
					   NULL);
}
