/* journal.h - what a writer is about to change, written down before it
 * changes it, so that the next writer can clean up after one that died
 * half way (killed, out of memory, power cut of a container).
 *
 * One file per cgroup, MLB_JOURNAL_DIR/<cgroup id>, holding the records
 * (struct mlb_state) of everything the command may create or remove for
 * that cgroup: for a re-attach the old and the new one.  It is written
 * atomically (a temporary file renamed) under the writers' lock before
 * the first kernel change, and removed when the command is done, whether
 * it succeeded or failed cleanly.  A journal found by a process that has
 * just taken the lock belongs to a writer that died holding it: recovery
 * (recover.h, above attachment.h) removes what its records describe.
 * This module only writes, drops and reads the records.
 */
#ifndef MLB_JOURNAL_H
#define MLB_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "lock.h"
#include "state.h"

#define MLB_JOURNAL_DIR MLB_RUN_DIR "/pending"
#define JOURNAL_MAX_RECORDS 2

/* The command word journals name ("attach", "apply", ...). */
void journal_set_command(const char *name);

/* Record n records (all of one cgroup) before changing anything for
 * them.  Must hold the lock. */
int journal_begin(const struct mlb_state *records, unsigned n,
		  struct mlb_err *err);

/* The command is done with the cgroup: drop its journal. */
void journal_end(uint64_t cgroup_id);

/* A line for journal_report: something repaired on the way. */
void journal_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print the notes, one line each with prefix (then forget them): one per
 * recovered cgroup, and journal_note's. */
void journal_report(FILE *out, const char *prefix);

/* A journal read back: what a writer meant to change, and who it was. */
struct journal_contents {
	char command[16];
	long long pid;
	unsigned nrecords;
	struct mlb_state records[JOURNAL_MAX_RECORDS];
};

/* Read the journal at path; an unreadable one or one of another version
 * is an error that says what to do with it. */
int journal_read(const char *path, struct journal_contents *out,
		 struct mlb_err *err);

/* A journal on disk, for status. */
struct journal_entry {
	uint64_t cgroup_id;
	char cgroup_path[256];
	char command[16];
	long pid;
};

/* The journals present now (up to max); returns how many. */
unsigned journal_list(struct journal_entry *out, unsigned max);

#endif
