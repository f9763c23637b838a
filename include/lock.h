/* lock.h - one writer at a time.
 *
 * Every command that changes kernel state (attach, detach, apply, and
 * watch's failovers and repairs) holds an exclusive flock(2) on
 * MLB_LOCK_PATH while it does.  The kernel drops the lock when its holder
 * dies, so a killed command never blocks the next one.  The holder's pid
 * is written into the file, to name it when another one has to wait.
 *
 * The lock is counted per process: nested acquires (apply calling attach,
 * watch applying its configuration file) only take it once.
 */
#ifndef MLB_LOCK_H
#define MLB_LOCK_H

#include <stdbool.h>

#include "error.h"

#define MLB_RUN_DIR "/run/mlb-bpf"
#define MLB_LOCK_PATH MLB_RUN_DIR "/lock"

/* Wait up to MLB_LOCK_WAIT_S seconds for the lock. */
#define MLB_LOCK_WAIT_S 60

/* Take the lock (creating MLB_RUN_DIR if needed).  Fails with a message
 * naming the holder when it stays busy. */
int mlb_lock(struct mlb_err *err);

/* Release one mlb_lock(); the last release unlocks. */
void mlb_unlock(void);

/* Whether this process holds the lock once only (its outermost
 * mlb_lock): nothing of its own is under way yet. */
bool mlb_lock_outermost(void);

/* Whether some process holds the lock now (for readers such as status,
 * which never take it). */
bool mlb_lock_busy(void);

#endif
