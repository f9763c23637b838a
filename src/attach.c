/* attach.c - the writers' commands on attachments: attach, put back and
 * detach (see attach.h), each under the writers' lock (recover.h, which
 * first cleans up after dead writers) and with its journal written
 * before the first change (journal.h).  The work itself is attachment.c's.
 */
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "attachment.h"
#include "audit.h"
#include "cgroup.h"
#include "journal.h"
#include "kernel_features.h"
#include "loader.h"
#include "lock.h"
#include "nat.h"
#include "netns.h"
#include "preflight.h"
#include "recover.h"

int attach_cgroup(const struct attach_request *req, struct mlb_err *err)
{
	char mount[PATH_MAX];
	const char *cgroup = req->cgroup;
	struct mlb_state state, old = { 0 };
	int cgroup_fd, had_old, ret = -1;
	uint64_t id;

	if (attachment_check_request(req, &state, err))
		return ATTACHMENT_BAD_INPUT;
	/* what this kernel lacks of what the request needs: refused in one
	 * line before anything is changed */
	if (preflight_privileges(err) || features_check_state(&state, err) ||
	    netns_save_home(err))
		return -1;
	if (!cgroup) {
		if (cgroup_find_mount(mount, sizeof(mount), err))
			return -1;
		cgroup = mount;
	}
	/* From reading what is attached to the last change: another writer
	 * in between would see (and undo) half of it. */
	if (recover_lock(err))
		return -1;
	cgroup_fd = cgroup_open(cgroup, state.cgroup_path,
				sizeof(state.cgroup_path), &id, err);
	if (cgroup_fd < 0) {
		mlb_unlock();
		return -1;
	}
	state.cgroup_id = id;
	nat_table_name(id, state.nft_table, sizeof(state.nft_table));

	if (loader_ensure_bpffs(err))
		goto out;
	had_old = attachment_read(id, &old, err);
	if (had_old < 0)
		goto out;
	if (attachment_resolve(req, &state, err))
		goto out;

	struct mlb_state records[2] = { state, old };

	if (journal_begin(records, had_old ? 2 : 1, err))
		goto out;
	if (had_old && attachment_remove(&old, err)) {
		mlb_fail_prefix(err, "removing the previous attachment");
		goto out_journal;
	}
	if (attachment_set_up(req, &state, cgroup_fd, err)) {
		if (had_old)
			attachment_put_back(&old, cgroup_fd, err);
		goto out_journal;
	}
	ret = 0;
out_journal:
	journal_end(id);
out:
	netns_return_home(&(struct mlb_err){0});
	close(cgroup_fd);
	mlb_unlock();
	return ret;
}

int attach_restore(const struct mlb_state *state, struct mlb_err *err)
{
	struct mlb_state copy = *state, now = { 0 };
	char path[sizeof(copy.cgroup_path)];
	int cgroup_fd, had, ret = -1;
	uint64_t id;

	if (netns_save_home(err) || recover_lock(err))
		return -1;
	cgroup_fd = cgroup_open(state->cgroup_path, path, sizeof(path), &id,
				err);
	if (cgroup_fd < 0)
		goto out_unlock;
	if (id != state->cgroup_id) {
		mlb_fail(err, "cgroup %s was removed and made again",
			 state->cgroup_path);
		goto out;
	}
	had = attachment_read(id, &now, err);
	if (had < 0)
		goto out;

	struct mlb_state records[2] = { copy, now };

	if (journal_begin(records, had ? 2 : 1, err))
		goto out;
	if (had && attachment_remove(&now, err))
		goto out_journal;
	ret = attachment_reapply(&copy, cgroup_fd, err);
out_journal:
	journal_end(id);
out:
	netns_return_home(&(struct mlb_err){0});
	close(cgroup_fd);
out_unlock:
	mlb_unlock();
	return ret;
}

/* The record alone is enough: an attachment missing its link (or other
 * pins) is removed too. */
static int detach_one(uint64_t id, struct mlb_err *err)
{
	struct mlb_state state;
	int ret;

	if (loader_read_record(id, &state, err) ||
	    journal_begin(&state, 1, err))
		return -1;
	ret = attachment_remove(&state, err);
	journal_end(id);
	return ret;
}

/* The pinned attachment whose record names the cgroup path. */
static bool find_record_of(const char *cgroup, uint64_t *id)
{
	uint64_t ids[256];
	unsigned n = loader_list(ids, 256);

	for (unsigned i = 0; i < n; i++) {
		struct mlb_state state;
		struct mlb_err ignored;

		if (loader_read_record(ids[i], &state, &ignored) == 0 &&
		    !strcmp(state.cgroup_path, cgroup)) {
			*id = ids[i];
			return true;
		}
	}
	return false;
}

static int detach_locked(const char *cgroup, bool all, struct mlb_err *err)
{
	uint64_t ids[256], id;
	char path[PATH_MAX];
	bool had_record;
	unsigned n;

	if (all) {
		n = loader_list(ids, 256);
		if (n == 0) {
			mlb_fail(err, "nothing is attached");
			return ATTACHMENT_NONE;
		}
		for (unsigned i = 0; i < n; i++)
			if (detach_one(ids[i], err))
				return -1;
		return 0;
	}
	if (attachment_cgroup_id(cgroup, &id, path, sizeof(path), err)) {
		/* a removed cgroup: its record still names it */
		if (!cgroup || !find_record_of(cgroup, &id))
			return -1;
		return detach_one(id, err);
	}
	had_record = loader_is_attached(id);
	if (had_record && detach_one(id, err))
		return -1;
	/* What an interrupted attach left, and programs of ours without a
	 * record, are what detach was asked to remove too. */
	int strays = audit_detach_strays(id);

	if (strays > 0)
		journal_note("detached %d mlb-bpf program%s of cgroup %s that "
			     "had no record", strays, strays > 1 ? "s" : "",
			     path);
	if (had_record || strays > 0 || recover_removed(id))
		return 0;
	mlb_fail(err, "nothing is attached to cgroup %s", path);
	return ATTACHMENT_NONE;
}

int attach_detach(const char *cgroup, bool all, struct mlb_err *err)
{
	int ret;

	if (preflight_privileges(err) || netns_save_home(err) ||
	    recover_lock(err))
		return -1;
	ret = detach_locked(cgroup, all, err);
	mlb_unlock();
	return ret;
}
