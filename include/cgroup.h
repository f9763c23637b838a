/* cgroup.h - finding the cgroup2 mount and checking that a path is a
 * cgroup2 directory before anything is attached to it.
 */
#ifndef MLB_CGROUP_H
#define MLB_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* The first cgroup2 mount point in /proc/self/mounts (the default for
 * --cgroup). */
int cgroup_find_mount(char *buf, size_t len, struct mlb_err *err);

/* Open path as a cgroup2 directory: returns an O_DIRECTORY fd, its
 * canonical path and its cgroup id (the directory's inode).  Errors say
 * whether the path is missing, not a directory, or not on cgroup2. */
int cgroup_open(const char *path, char *canonical, size_t len, uint64_t *id,
		struct mlb_err *err);

#endif
