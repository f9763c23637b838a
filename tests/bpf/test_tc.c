/* test_tc.c - tc.c against the kernel, in a network namespace of the
 * test's own (unshare): a program goes on the loopback's ingress and off
 * again in both modes, a second attachment's filter stays when the first
 * goes, tc_detach_all finds what a pin-less attach left, and the clsact
 * qdisc it created goes with the last filter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/filter.h>

#include "loader.h"
#include "tc.h"

#define LO 1			/* the loopback device of a fresh namespace */

static char pin_dir[128];

/* return -1 (TCX_NEXT, TC_ACT_UNSPEC) */
static int load_pass_program(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0,
		  .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "mlb_tc_test", "GPL",
			       insns, 2, NULL);

	assert_true(fd >= 0);
	return fd;
}

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* Whether lo has a clsact qdisc: creating one again says EEXIST. */
static bool has_clsact(void)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = LO,
		    .attach_point = BPF_TC_INGRESS);
	int ret = bpf_tc_hook_create(&hook);

	if (ret == 0) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	return ret == -EEXIST;
}

static void in_both_modes(uint32_t mode)
{
	struct mlb_err err = { 0 };
	int a = load_pass_program(), b = load_pass_program();

	assert_int_equal(tc_attach(mode, a, pin_dir, 1001, LO, &err), 0);
	assert_true(tc_is_attached(mode, 1001, LO, prog_id(a)));
	assert_false(tc_is_attached(mode, 1001, LO, prog_id(b)));
	/* again: replaces, still one program of ours */
	assert_int_equal(tc_attach(mode, b, pin_dir, 1001, LO, &err), 0);
	assert_true(tc_is_attached(mode, 1001, LO, prog_id(b)));
	assert_false(tc_is_attached(mode, 1001, LO, prog_id(a)));
	assert_int_equal(tc_detach(mode, pin_dir, 1001, LO, &err), 0);
	assert_false(tc_is_attached(mode, 1001, LO, prog_id(b)));
	/* nothing there any more: still fine */
	assert_int_equal(tc_detach(mode, pin_dir, 1001, LO, &err), 0);
	close(a);
	close(b);
}

static void test_tcx(void **state)
{
	uint32_t mode;
	struct mlb_err err = { 0 };

	(void)state;
	setenv("MLB_TC_MODE", "tcx", 1);
	if (tc_pick_mode(&mode, &err)) {
		unsetenv("MLB_TC_MODE");
		puts("# skip test_tcx: this kernel lacks tcx links (Linux 6.6)");
		skip();
	}
	unsetenv("MLB_TC_MODE");
	assert_int_equal(mode, MLB_TC_TCX);
	in_both_modes(MLB_TC_TCX);
}

static void test_clsact(void **state)
{
	(void)state;
	in_both_modes(MLB_TC_CLSACT);
	assert_false(has_clsact());	/* went with its last filter */
}

static void test_two_attachments_clsact(void **state)
{
	struct mlb_err err = { 0 };
	int a = load_pass_program(), b = load_pass_program();

	(void)state;
	assert_int_equal(tc_attach(MLB_TC_CLSACT, a, pin_dir, 1001, LO, &err),
			 0);
	assert_int_equal(tc_attach(MLB_TC_CLSACT, b, pin_dir, 1002, LO, &err),
			 0);
	assert_int_equal(tc_detach_all(NULL, 1001, &err), 0);
	assert_false(tc_is_attached(MLB_TC_CLSACT, 1001, LO, prog_id(a)));
	assert_true(tc_is_attached(MLB_TC_CLSACT, 1002, LO, prog_id(b)));
	assert_true(has_clsact());	/* 1002's filter still needs it */
	assert_int_equal(tc_detach_all(NULL, 1002, &err), 0);
	assert_false(tc_is_attached(MLB_TC_CLSACT, 1002, LO, prog_id(b)));
	assert_false(has_clsact());
	close(a);
	close(b);
}

static void test_detach_all_tcx(void **state)
{
	struct mlb_err err = { 0 };
	uint32_t mode;
	int a = load_pass_program();

	(void)state;
	assert_int_equal(tc_pick_mode(&mode, &err), 0);
	if (mode != MLB_TC_TCX) {
		close(a);
		puts("# skip test_detach_all_tcx: this kernel lacks tcx links "
		     "(Linux 6.6)");
		skip();
	}
	assert_int_equal(tc_attach(MLB_TC_TCX, a, pin_dir, 1001, LO, &err), 0);
	close(a);		/* only the pin holds it now */
	assert_int_equal(tc_detach_all(pin_dir, 1001, &err), 0);
	{
		__u32 ids[4], count = 4;

		assert_int_equal(bpf_prog_query(LO, 46, 0, NULL, ids, &count),
				 0);
		assert_int_equal(count, 0);
	}
}

static void test_bad_mode(void **state)
{
	struct mlb_err err = { 0 };
	uint32_t mode;

	(void)state;
	setenv("MLB_TC_MODE", "bogus", 1);
	assert_int_equal(tc_pick_mode(&mode, &err), -1);
	assert_non_null(strstr(err.msg, "MLB_TC_MODE=bogus"));
	unsetenv("MLB_TC_MODE");
}

static int set_up(void **state)
{
	struct mlb_err err = { 0 };

	(void)state;
	if (unshare(CLONE_NEWNET))
		return -1;
	if (loader_ensure_bpffs(&err))
		return -1;
	snprintf(pin_dir, sizeof(pin_dir), MLB_BPFFS "/mlb-test-tc-%d",
		 (int)getpid());
	return mkdir(pin_dir, 0700);
}

static int tear_down(void **state)
{
	struct mlb_err err = { 0 };

	(void)state;
	tc_detach_all(pin_dir, 1001, &err);
	tc_detach_all(pin_dir, 1002, &err);
	return rmdir(pin_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcx),
		cmocka_unit_test(test_clsact),
		cmocka_unit_test(test_two_attachments_clsact),
		cmocka_unit_test(test_detach_all_tcx),
		cmocka_unit_test(test_bad_mode),
	};

	return cmocka_run_group_tests(tests, set_up, tear_down);
}
