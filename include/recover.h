/* recover.h - the writers' lock, and what a writer that died holding it
 * left behind: every journal (journal.h) found by a process that has just
 * taken the lock is a dead writer's, and everything its records describe
 * is removed (nftables table, routing unless another attachment shares
 * it, pins and links, also those still in the staging directory), so the
 * cgroup ends up with nothing attached; `apply` or `attach` then sets up
 * what is wanted again.  Above attachment.h, whose removal it uses.
 */
#ifndef MLB_RECOVER_H
#define MLB_RECOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "lock.h"

/* Take the writers' lock; when this process did not hold it already,
 * recover what dead writers left.  Release with mlb_unlock(). */
int recover_lock(struct mlb_err *err);

/* Whether this process's recovery removed what was left for the cgroup. */
bool recover_removed(uint64_t cgroup_id);

#endif
