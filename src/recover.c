/* recover.c - the writers' lock and the recovery of what dead writers
 * left (see recover.h): each journal's records removed as attachment.c
 * removes an attachment, then the journal.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attachment.h"
#include "journal.h"
#include "loader.h"
#include "lock.h"
#include "netns.h"
#include "recover.h"

#define MAX_RECOVERED 64

/* The cgroups this process's recovery cleaned up. */
static uint64_t recovered[MAX_RECOVERED];
static unsigned nrecovered;

/* Remove everything the journal's records describe, newest first, then
 * the journal. */
static int recover_one(const char *path, struct mlb_err *err)
{
	struct journal_contents *j = calloc(1, sizeof(*j));
	uint64_t id;
	int ret = 0;

	if (!j)
		return mlb_fail(err, "out of memory");
	if (journal_read(path, j, err)) {
		free(j);
		return -1;
	}
	id = j->records[0].cgroup_id;
	for (unsigned i = j->nrecords; i-- > 0 && !ret;)
		ret = attachment_remove(&j->records[i], err);
	if (ret == 0)
		ret = loader_remove(id, err);
	if (ret) {
		mlb_fail_prefix(err, "cleaning up after an interrupted %s of "
				"cgroup %s", j->command,
				j->records[0].cgroup_path);
	} else {
		unlink(path);
		if (nrecovered < MAX_RECOVERED)
			recovered[nrecovered++] = id;
		journal_note("removed what an interrupted %s (pid %lld) of "
			     "cgroup %s left", j->command, (long long)j->pid,
			     j->records[0].cgroup_path);
	}
	free(j);
	return ret;
}

/* Every journal in MLB_JOURNAL_DIR; temporary files of a writer that died
 * while writing one are only removed (nothing was changed after them). */
static int recover(struct mlb_err *err)
{
	DIR *d = opendir(MLB_JOURNAL_DIR);
	struct dirent *de;
	char path[512];
	int ret = 0, caller_ns = -1;

	if (!d)
		return 0;
	while ((de = readdir(d)) && !ret) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", MLB_JOURNAL_DIR,
			 de->d_name);
		if (de->d_name[0] == '.') {
			unlink(path);
			continue;
		}
		/* Recovery enters the journals' namespaces; the caller
		 * (watch, in an attachment's namespace) carries on in its
		 * own afterwards. */
		if (caller_ns < 0 && (caller_ns = netns_hold_current(err)) < 0)
			ret = -1;
		else
			ret = recover_one(path, err);
	}
	closedir(d);
	if (caller_ns >= 0 && netns_go_back(caller_ns, ret ? NULL : err))
		ret = -1;
	return ret;
}

int recover_lock(struct mlb_err *err)
{
	if (mlb_lock(err))
		return -1;
	if (!mlb_lock_outermost())
		return 0;
	if (netns_save_home(err) || recover(err)) {
		mlb_unlock();
		return -1;
	}
	return 0;
}

bool recover_removed(uint64_t cgroup_id)
{
	for (unsigned i = 0; i < nrecovered; i++)
		if (recovered[i] == cgroup_id)
			return true;
	return false;
}
