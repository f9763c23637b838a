/* test_bpf.c - the real BPF object, loaded and attached to child cgroups
 * this test creates: sockets made by a process in the cgroup get the
 * marks the slot table says, in order; counters and socket storage agree;
 * marks set by a nearer cgroup are left alone; weights change with one
 * flip.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "loader.h"
#include "mlb.h"
#include "state.h"

#define MAX_SOCKETS 2000

/* One test cgroup with an attachment. */
struct test_cgroup {
	char path[256];		/* fits mlb_state.cgroup_path */
	uint64_t id;
	bool attached;
};

/* What a process in the cgroup saw for each socket it made. */
struct socket_seen {
	uint32_t mark;			/* SO_MARK */
	int has_choice;			/* sk_uplink storage present */
	struct mlb_sk_choice choice;
};

static char parent_dir[200];
static struct test_cgroup outer, inner;

static void make_cgroup(struct test_cgroup *cg, const char *path)
{
	char canonical[PATH_MAX];
	struct mlb_err err;
	int fd;

	assert_true(strlen(path) < sizeof(cg->path));
	strcpy(cg->path, path);
	assert_int_equal(mkdir(path, 0755), 0);
	fd = cgroup_open(path, canonical, sizeof(canonical), &cg->id, &err);
	assert_true(fd >= 0);
	close(fd);
}

/* Attach with n uplinks, marks base + i, these weights, and per-socket
 * records (sk_uplink) unless told otherwise. */
static bool record_sockets = true;

static void attach(struct test_cgroup *cg, uint32_t mark_base,
		   const unsigned *weights, unsigned n)
{
	struct mlb_state state = {
		.version = MLB_STATE_VERSION,
		.nuplinks = n,
		.cgroup_id = cg->id,
		.mark_base = mark_base,
		.mark_mask = 0xff,
		.record_sockets = record_sockets,
	};
	struct mlb_err err = {};
	int fd = open(cg->path, O_RDONLY | O_DIRECTORY);

	assert_true(fd >= 0);
	strcpy(state.cgroup_path, cg->path);
	for (unsigned i = 0; i < n; i++) {
		snprintf(state.uplinks[i].ifname, IF_NAMESIZE, "test%u", i);
		state.uplinks[i].mark = mark_base + i;
		state.uplinks[i].weight = weights[i];
	}
	if (loader_attach(&state, fd, &err))
		fail_msg("attach %s: %s", cg->path, err.msg);
	close(fd);
	cg->attached = true;
}

static void detach(struct test_cgroup *cg)
{
	struct mlb_err err;

	if (cg->attached)
		loader_remove(cg->id, &err);
	cg->attached = false;
}

/* Fork a child that joins cg, makes n sockets of this type and reports
 * what each got. */
static void make_sockets(const struct test_cgroup *cg, int family, int type,
			 unsigned n, struct socket_seen *seen)
{
	struct mlb_pins pins;
	struct mlb_err err;
	int pipefd[2], status;
	pid_t pid;

	assert_int_equal(loader_open(cg->id, &pins, &err), 0);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char procs[PATH_MAX + 32];
		FILE *f;

		close(pipefd[0]);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg->path);
		f = fopen(procs, "w");
		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
			_exit(10);
		for (unsigned i = 0; i < n; i++) {
			struct socket_seen s = {};
			socklen_t len = sizeof(s.mark);
			int fd = socket(family, type, 0);

			if (fd < 0 ||
			    getsockopt(fd, SOL_SOCKET, SO_MARK, &s.mark, &len))
				_exit(11);
			s.has_choice = bpf_map_lookup_elem(pins.sk_uplink, &fd,
							   &s.choice) == 0;
			close(fd);
			if (write(pipefd[1], &s, sizeof(s)) != sizeof(s))
				_exit(12);
		}
		_exit(0);
	}
	close(pipefd[1]);
	for (unsigned i = 0; i < n; i++) {
		size_t got = 0;

		while (got < sizeof(seen[i])) {
			ssize_t r = read(pipefd[0], (char *)&seen[i] + got,
					 sizeof(seen[i]) - got);
			assert_true(r > 0);
			got += (size_t)r;
		}
	}
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	loader_close(&pins);
}

static void read_counts(const struct test_cgroup *cg, unsigned n,
			uint64_t *counts)
{
	struct mlb_pins pins;
	struct mlb_err err;

	assert_int_equal(loader_open(cg->id, &pins, &err), 0);
	assert_int_equal(loader_read_counts(&pins, n, counts, &err), 0);
	loader_close(&pins);
}

static int setup(void **state)
{
	char mount[160], path[sizeof(parent_dir) + 16];
	struct mlb_err err;

	(void)state;
	if (cgroup_find_mount(mount, sizeof(mount), &err) ||
	    loader_ensure_bpffs(&err)) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	if (snprintf(parent_dir, sizeof(parent_dir), "%s/mlb-test-bpf-%d",
		     mount, getpid()) >= (int)sizeof(parent_dir))
		return -1;
	make_cgroup(&outer, parent_dir);
	if (snprintf(path, sizeof(path), "%s/inner", parent_dir) >=
	    (int)sizeof(path))
		return -1;
	make_cgroup(&inner, path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	detach(&inner);
	detach(&outer);
	rmdir(inner.path);
	rmdir(outer.path);
	return 0;
}

static int after_each(void **state)
{
	(void)state;
	record_sockets = true;
	detach(&inner);
	detach(&outer);
	return 0;
}

static void test_round_robin_is_exact(void **state)
{
	static struct socket_seen seen[MAX_SOCKETS];
	const unsigned weights[] = { 1, 1, 1 };
	uint64_t counts[3];

	(void)state;
	attach(&outer, 0x10, weights, 3);
	make_sockets(&outer, AF_INET, SOCK_STREAM, 300, seen);
	for (unsigned i = 0; i < 300; i++) {
		assert_int_equal(seen[i].mark, 0x10 + i % 3);
		assert_true(seen[i].has_choice);
		assert_int_equal(seen[i].choice.uplink, i % 3);
		assert_int_equal(seen[i].choice.mark, seen[i].mark);
	}
	read_counts(&outer, 3, counts);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(counts[i], 100);
}

static void test_weighted_is_smooth(void **state)
{
	static struct socket_seen seen[MAX_SOCKETS];
	const unsigned weights[] = { 3, 1 };
	const uint32_t pattern[] = { 0x10, 0x10, 0x11, 0x10 };
	uint64_t counts[2];

	(void)state;
	attach(&outer, 0x10, weights, 2);
	make_sockets(&outer, AF_INET, SOCK_DGRAM, 400, seen);
	for (unsigned i = 0; i < 400; i++)
		assert_int_equal(seen[i].mark, pattern[i % 4]);
	read_counts(&outer, 2, counts);
	assert_int_equal(counts[0], 300);
	assert_int_equal(counts[1], 100);
}

static void test_five_three_one(void **state)
{
	static struct socket_seen seen[MAX_SOCKETS];
	const unsigned weights[] = { 5, 3, 1 };
	unsigned got[3] = {};

	(void)state;
	attach(&outer, 0x10, weights, 3);
	make_sockets(&outer, AF_INET, SOCK_STREAM, 1800, seen);
	for (unsigned i = 0; i < 1800; i++) {
		assert_in_range(seen[i].mark, 0x10, 0x12);
		got[seen[i].mark - 0x10]++;
	}
	assert_int_equal(got[0], 1000);
	assert_int_equal(got[1], 600);
	assert_int_equal(got[2], 200);
}

/* A nearer cgroup's program runs first; the outer one must not override
 * the mark it set. */
static void test_nearest_cgroup_wins(void **state)
{
	static struct socket_seen seen[MAX_SOCKETS];
	const unsigned weights[] = { 1, 1 };
	uint64_t outer_counts[2], inner_counts[2];

	(void)state;
	attach(&outer, 0x10, weights, 2);
	attach(&inner, 0x20, weights, 2);
	make_sockets(&inner, AF_INET, SOCK_STREAM, 100, seen);
	for (unsigned i = 0; i < 100; i++)
		assert_int_equal(seen[i].mark, 0x20 + i % 2);
	read_counts(&outer, 2, outer_counts);
	read_counts(&inner, 2, inner_counts);
	assert_int_equal(outer_counts[0] + outer_counts[1], 0);
	assert_int_equal(inner_counts[0] + inner_counts[1], 100);
}

/* IPv6 sockets are balanced like IPv4 ones, in the same sequence, and
 * sockets of other families (here AF_UNIX) are left alone. */
static void test_ipv6_sockets_balanced(void **state)
{
	static struct socket_seen seen[MAX_SOCKETS];
	const unsigned weights[] = { 1, 1 };
	uint64_t counts[2];

	(void)state;
	attach(&outer, 0x10, weights, 2);
	make_sockets(&outer, AF_INET6, SOCK_STREAM, 20, seen);
	for (unsigned i = 0; i < 20; i++) {
		assert_int_equal(seen[i].mark, 0x10 + i % 2);
		assert_true(seen[i].has_choice);
	}
	make_sockets(&outer, AF_INET6, SOCK_DGRAM, 20, seen);
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(seen[i].mark, 0x10 + i % 2);
	make_sockets(&outer, AF_UNIX, SOCK_STREAM, 20, seen);
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(seen[i].mark, 0);
	read_counts(&outer, 2, counts);
	assert_int_equal(counts[0], 20);
	assert_int_equal(counts[1], 20);
}

static void test_weights_change_with_one_flip(void **state)
{
	static struct socket_seen seen[MAX_SOCKETS];
	const unsigned before[] = { 1, 1 }, after[] = { 0, 1 };
	struct mlb_pins pins;
	struct mlb_err err;

	(void)state;
	attach(&outer, 0x10, before, 2);
	make_sockets(&outer, AF_INET, SOCK_STREAM, 10, seen);
	assert_int_equal(loader_open(outer.id, &pins, &err), 0);
	assert_int_equal(loader_set_weights(&pins, after, 2, &err), 0);
	loader_close(&pins);
	make_sockets(&outer, AF_INET, SOCK_STREAM, 10, seen);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(seen[i].mark, 0x11);
}

/* Without --record-sockets: marks and counters, but no socket storage. */
static void test_no_records_by_default(void **state)
{
	static struct socket_seen seen[MAX_SOCKETS];
	const unsigned weights[] = { 1, 1 };
	uint64_t counts[2];

	(void)state;
	record_sockets = false;
	attach(&outer, 0x10, weights, 2);
	make_sockets(&outer, AF_INET, SOCK_STREAM, 20, seen);
	for (unsigned i = 0; i < 20; i++) {
		assert_int_equal(seen[i].mark, 0x10 + i % 2);
		assert_false(seen[i].has_choice);
	}
	read_counts(&outer, 2, counts);
	assert_int_equal(counts[0], 10);
	assert_int_equal(counts[1], 10);
}

/* Detach removes the program: new sockets get no mark, pins are gone. */
static void test_detach_stops_marking(void **state)
{
	const unsigned weights[] = { 1, 1 };
	char dir[128];
	struct stat st;
	int pid, status;

	(void)state;
	attach(&outer, 0x10, weights, 2);
	detach(&outer);
	loader_pin_dir(outer.id, dir, sizeof(dir));
	assert_int_not_equal(stat(dir, &st), 0);
	pid = fork();
	if (pid == 0) {
		char procs[PATH_MAX + 32];
		uint32_t mark = 1;
		socklen_t len = sizeof(mark);
		FILE *f;
		int fd;

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", outer.path);
		f = fopen(procs, "w");
		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
			_exit(10);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len);
		_exit(mark == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* libbpf's own messages only when MLB_TEST_VERBOSE is set. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	return getenv("MLB_TEST_VERBOSE") ? vfprintf(stderr, fmt, ap) : 0;
}

int main(void)
{
	libbpf_set_print(libbpf_print);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_round_robin_is_exact,
					  after_each),
		cmocka_unit_test_teardown(test_weighted_is_smooth, after_each),
		cmocka_unit_test_teardown(test_five_three_one, after_each),
		cmocka_unit_test_teardown(test_nearest_cgroup_wins,
					  after_each),
		cmocka_unit_test_teardown(test_ipv6_sockets_balanced,
					  after_each),
		cmocka_unit_test_teardown(test_weights_change_with_one_flip,
					  after_each),
		cmocka_unit_test_teardown(test_no_records_by_default,
					  after_each),
		cmocka_unit_test_teardown(test_detach_stops_marking,
					  after_each),
	};

	return cmocka_run_group_tests_name("bpf", tests, setup, teardown);
}
