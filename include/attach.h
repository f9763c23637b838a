/* attach.h - the commands that change attachments: attach, put back and
 * detach, each a writer (under the writers' lock, recover.h) that writes
 * its journal before the first change (journal.h).  Attach is all or
 * nothing, and re-attaching to a cgroup replaces what was there.  The
 * steps are attachment.h's.
 */
#ifndef MLB_ATTACH_H
#define MLB_ATTACH_H

#include <stdbool.h>

#include "attachment.h"
#include "error.h"
#include "state.h"

/* Check, resolve and set up everything; on failure nothing is left (and a
 * replaced attachment is put back).  Returns ATTACHMENT_BAD_INPUT when the
 * request itself can never work (bad numbers, duplicate uplinks). */
int attach_cgroup(const struct attach_request *req, struct mlb_err *err);

/* Remove the attachment of one cgroup (by path) or, with path NULL and
 * all set, every attachment.  Returns ATTACHMENT_NONE when there is
 * nothing to detach. */
int attach_detach(const char *cgroup, bool all, struct mlb_err *err);

/* Put back the attachment whose record is state, as recorded (its
 * cgroup must still be the same), replacing what is attached there now:
 * undoes an apply that failed half way. */
int attach_restore(const struct mlb_state *state, struct mlb_err *err);

#endif
