/* state_version.h - the attachment record's versions (see state.h): the
 * size each one had, and a stored record of any version this mlb-bpf
 * knows brought to today's layout.  Used where records are read: the
 * pinned state map (loader.c) and the writers' journal (journal.c).
 */
#ifndef MLB_STATE_VERSION_H
#define MLB_STATE_VERSION_H

#include <stddef.h>

#include "error.h"
#include "state.h"

/* The oldest version read: 0.1.0's. */
#define MLB_STATE_OLDEST 6

/* The record's size in VERSION; 0 for a version this mlb-bpf does not
 * know (a newer one's, or none). */
size_t mlb_state_size(__u32 version);

/* OUT, in today's layout, from STORED, a record of SIZE bytes as some
 * version wrote it (its first field says which).  Fails, with WHAT named,
 * on a newer mlb-bpf's record (the error says to use that release) and on
 * one whose size and version disagree. */
int mlb_state_from_stored(const void *stored, size_t size,
			  struct mlb_state *out, const char *what,
			  struct mlb_err *err);

#endif
