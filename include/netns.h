/* netns.h - running the routing and NAT part in another network namespace
 * (--netns NAME|PATH, as `ip -n`), while the BPF attachment and its pins
 * stay in the caller's mount namespace.
 */
#ifndef MLB_NETNS_H
#define MLB_NETNS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/* NAME means /run/netns/NAME; anything with a '/' is a path. */
void netns_resolve(const char *name_or_path, char *path, size_t len);

/* Switch this thread to the namespace at path. */
int netns_enter(const char *path, struct mlb_err *err);

/* Remember the namespace the process started in, and go back to it. */
int netns_save_home(struct mlb_err *err);
int netns_return_home(struct mlb_err *err);

/* Hold on to the current namespace (an fd, or -1 with err set), and go
 * back to it later (closing the fd): for a detour from wherever the
 * caller is. */
int netns_hold_current(struct mlb_err *err);
int netns_go_back(int held, struct mlb_err *err);

/* Inode of the current network namespace (0 on error). */
uint64_t netns_current_inode(void);

/* Inode of the namespace at path (0 on error). */
uint64_t netns_inode_of(const char *path);

/* Whether a network namespace with this inode still exists as far as
 * can be seen: a process in it, or a bind mount of it (ip netns, a
 * container runtime).  One held only by another process's open file
 * descriptor is not seen. */
bool netns_inode_alive(uint64_t inode);

#endif
