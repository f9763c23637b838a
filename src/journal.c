/* journal.c - intent records: written before a writer changes anything,
 * dropped when it is done, read back (see journal.h).  Recovery after a
 * dead writer, which acts on what they say, is recover.c's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "state_version.h"

#define JOURNAL_MAGIC "mlbjrnl1"
#define MAX_NOTES 64

struct journal_file {
	char magic[8];
	__u32 state_version;
	__u32 nrecords;
	__s64 pid;
	char command[16];
	struct mlb_state records[JOURNAL_MAX_RECORDS];
};

static const char *command = "mlb-bpf";

/* Lines for journal_report. */
static char notes[MAX_NOTES][384];
static unsigned nnotes;

void journal_set_command(const char *name)
{
	command = name;
}

static void journal_path(uint64_t cgroup_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%" PRIu64, MLB_JOURNAL_DIR, cgroup_id);
}

int journal_begin(const struct mlb_state *records, unsigned n,
		  struct mlb_err *err)
{
	struct journal_file *j = calloc(1, sizeof(*j));
	char path[128], tmp[160];
	ssize_t done;
	int fd, e;

	if (!j)
		return mlb_fail(err, "out of memory");
	memcpy(j->magic, JOURNAL_MAGIC, sizeof(j->magic));
	j->state_version = MLB_STATE_VERSION;
	j->nrecords = n < JOURNAL_MAX_RECORDS ? n : JOURNAL_MAX_RECORDS;
	j->pid = getpid();
	snprintf(j->command, sizeof(j->command), "%s", command);
	for (unsigned i = 0; i < j->nrecords; i++) {
		struct mlb_state *r = &j->records[i];

		*r = records[i];
		/* whatever it may have got as far as installing */
		r->installed = MLB_INSTALLED_ROUTES | MLB_INSTALLED_RULES |
			       (r->nft_table[0] ? MLB_INSTALLED_NAT : 0);
	}
	journal_path(records[0].cgroup_id, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s/.%" PRIu64 ".tmp", MLB_JOURNAL_DIR,
		 (uint64_t)records[0].cgroup_id);
	if (mkdir(MLB_JOURNAL_DIR, 0700) && errno != EEXIST) {
		e = errno;
		free(j);
		return mlb_fail(err, "creating %s: %s", MLB_JOURNAL_DIR,
				strerror(e));
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		e = errno;
		free(j);
		return mlb_fail(err, "writing %s: %s", tmp, strerror(e));
	}
	done = write(fd, j, sizeof(*j));
	e = errno;
	free(j);
	if (done != (ssize_t)sizeof(*j) || close(fd) || rename(tmp, path)) {
		if (done == (ssize_t)sizeof(*j))
			e = errno;
		unlink(tmp);
		return mlb_fail(err, "writing %s: %s", path,
				done >= 0 && done < (ssize_t)sizeof(*j) ?
				"short write" : strerror(e));
	}
	return 0;
}

void journal_end(uint64_t cgroup_id)
{
	char path[128];

	journal_path(cgroup_id, path, sizeof(path));
	unlink(path);
}

/* The journal at path into j, in today's layout: an older mlb-bpf's (a
 * writer killed before an upgrade) has records of its version's size,
 * each brought to today's. */
static int read_journal(const char *path, struct journal_file *j,
			struct mlb_err *err)
{
	const size_t head = offsetof(struct journal_file, records);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *raw = calloc(1, sizeof(*j));
	size_t size;
	ssize_t n;

	if (fd < 0 || !raw) {
		int e = fd < 0 ? errno : ENOMEM;

		if (fd >= 0)
			close(fd);
		free(raw);
		return mlb_fail(err, "reading %s: %s", path, strerror(e));
	}
	n = read(fd, raw, sizeof(*j));
	close(fd);
	memcpy(j, raw, n > (ssize_t)head ? head : 0);
	size = mlb_state_size(j->state_version);
	if (n < (ssize_t)head || memcmp(j->magic, JOURNAL_MAGIC, 8) ||
	    !size || n != (ssize_t)(head + size * JOURNAL_MAX_RECORDS) ||
	    j->nrecords == 0 || j->nrecords > JOURNAL_MAX_RECORDS) {
		free(raw);
		return mlb_fail(err, "%s is not a journal of a version of "
				"mlb-bpf this one reads; remove it once its "
				"cgroup is detached", path);
	}
	for (unsigned i = 0; i < j->nrecords; i++)
		if (mlb_state_from_stored(raw + head + i * size, size,
					  &j->records[i], path, err)) {
			free(raw);
			return -1;
		}
	free(raw);
	return 0;
}

int journal_read(const char *path, struct journal_contents *out,
		 struct mlb_err *err)
{
	struct journal_file *j = calloc(1, sizeof(*j));

	if (!j)
		return mlb_fail(err, "out of memory");
	if (read_journal(path, j, err)) {
		free(j);
		return -1;
	}
	memcpy(out->command, j->command, sizeof(out->command));
	out->pid = j->pid;
	out->nrecords = j->nrecords;
	memcpy(out->records, j->records, sizeof(out->records));
	free(j);
	return 0;
}

void journal_note(const char *fmt, ...)
{
	va_list ap;

	if (nnotes >= MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(notes[nnotes++], sizeof(notes[0]), fmt, ap);
	va_end(ap);
}

void journal_report(FILE *out, const char *prefix)
{
	for (unsigned i = 0; i < nnotes; i++)
		fprintf(out, "%s%s\n", prefix, notes[i]);
	nnotes = 0;
}

unsigned journal_list(struct journal_entry *out, unsigned max)
{
	DIR *d = opendir(MLB_JOURNAL_DIR);
	struct journal_contents *j = calloc(1, sizeof(*j));
	char path[512];
	struct dirent *de;
	unsigned n = 0;

	if (!d || !j) {
		if (d)
			closedir(d);
		free(j);
		return 0;
	}
	while ((de = readdir(d)) && n < max) {
		struct mlb_err ignored;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", MLB_JOURNAL_DIR,
			 de->d_name);
		memset(&out[n], 0, sizeof(out[n]));
		out[n].cgroup_id = strtoull(de->d_name, NULL, 10);
		if (journal_read(path, j, &ignored) == 0) {
			snprintf(out[n].cgroup_path, sizeof(out[n].cgroup_path),
				 "%s", j->records[0].cgroup_path);
			snprintf(out[n].command, sizeof(out[n].command), "%s",
				 j->command);
			out[n].pid = (long)j->pid;
		}
		n++;
	}
	closedir(d);
	free(j);
	return n;
}
