/* test_state_version.c - records and journals of 0.1.0 (record version
 * 6) read by this release; a newer release's record refused, naming it;
 * a record whose size and version disagree refused as corrupt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"
#include "state_version.h"

#define V6_SIZE 11328		/* sizeof(struct mlb_state) in 0.1.0 */

/* A version 6 record as 0.1.0 stored it: its bytes, no more. */
static unsigned char *v6_record(const char *cgroup_path)
{
	unsigned char *raw = calloc(1, V6_SIZE);
	struct mlb_state s = { .version = 6, .nuplinks = 2 };

	assert_non_null(raw);
	snprintf(s.cgroup_path, sizeof(s.cgroup_path), "%s", cgroup_path);
	s.balance = 1;
	memcpy(raw, &s, V6_SIZE);
	return raw;
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(mlb_state_size(6), V6_SIZE);
	assert_int_equal(mlb_state_size(7), 11344);	/* 0.2.0 */
	assert_int_equal(mlb_state_size(MLB_STATE_VERSION),
			 sizeof(struct mlb_state));
	assert_int_equal(mlb_state_size(MLB_STATE_VERSION + 1), 0);
	assert_int_equal(mlb_state_size(5), 0);
}

static void test_v6_record_widened(void **state)
{
	unsigned char *raw = v6_record("/sys/fs/cgroup/web");
	struct mlb_state out;
	struct mlb_err err;

	(void)state;
	memset(&out, 0xaa, sizeof(out));
	assert_int_equal(mlb_state_from_stored(raw, V6_SIZE, &out, "r", &err), 0);
	assert_int_equal(out.version, MLB_STATE_VERSION);
	assert_int_equal(out.nuplinks, 2);
	assert_int_equal(out.balance, 1);
	assert_string_equal(out.cgroup_path, "/sys/fs/cgroup/web");
	assert_string_equal(out.made_by, "");	/* what 0.1.0 lacked reads 0 */
	free(raw);
}

static void test_newer_record_refused(void **state)
{
	unsigned char raw[sizeof(struct mlb_state) + 64] = { 0 };
	__u32 version = MLB_STATE_VERSION + 1;
	struct mlb_state out;
	struct mlb_err err;

	(void)state;
	memcpy(raw, &version, sizeof(version));
	assert_int_equal(mlb_state_from_stored(raw, sizeof(raw), &out,
					       "the record", &err), -1);
	assert_non_null(strstr(err.msg, "written by a newer mlb-bpf"));
	assert_non_null(strstr(err.msg, "the record"));
}

static void test_size_and_version_disagree(void **state)
{
	unsigned char *raw = v6_record("/x");
	struct mlb_state out;
	struct mlb_err err;

	(void)state;
	/* a version 6 record in a map of today's size */
	raw = realloc(raw, sizeof(struct mlb_state));
	assert_non_null(raw);
	assert_int_equal(mlb_state_from_stored(raw, sizeof(struct mlb_state),
					       &out, "r", &err), -1);
	assert_non_null(strstr(err.msg, "corrupt"));
	assert_int_equal(mlb_state_from_stored(raw, 2, &out, "r", &err), -1);
	free(raw);
}

/* A journal as 0.1.0 wrote it: its header, then two version 6 records. */
static void test_v6_journal_read(void **state)
{
	struct {
		char magic[8];
		__u32 state_version;
		__u32 nrecords;
		__s64 pid;
		char command[16];
	} head = { "mlbjrnl1", 6, 1, 4242, "apply" };
	char path[] = "/tmp/mlb-journal-XXXXXX";
	unsigned char *rec = v6_record("/sys/fs/cgroup/db");
	unsigned char *empty = calloc(1, V6_SIZE);
	struct journal_contents *out = calloc(1, sizeof(*out));
	struct mlb_err err;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	(void)state;
	assert_non_null(f);
	assert_int_equal(offsetof(struct mlb_state, version), 0);
	fwrite(&head, sizeof(head), 1, f);
	fwrite(rec, V6_SIZE, 1, f);
	fwrite(empty, V6_SIZE, 1, f);
	fclose(f);
	assert_int_equal(journal_read(path, out, &err), 0);
	assert_int_equal(out->nrecords, 1);
	assert_int_equal(out->pid, 4242);
	assert_string_equal(out->command, "apply");
	assert_string_equal(out->records[0].cgroup_path, "/sys/fs/cgroup/db");
	assert_int_equal(out->records[0].version, MLB_STATE_VERSION);

	/* cut short: refused, the message says what to do */
	assert_int_equal(truncate(path, sizeof(head) + V6_SIZE), 0);
	assert_int_equal(journal_read(path, out, &err), -1);
	assert_non_null(strstr(err.msg, "remove it"));
	unlink(path);
	free(rec);
	free(empty);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_v6_record_widened),
		cmocka_unit_test(test_newer_record_refused),
		cmocka_unit_test(test_size_and_version_disagree),
		cmocka_unit_test(test_v6_journal_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
