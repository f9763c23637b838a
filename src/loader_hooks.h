/* loader_hooks.h - the attachment's connect, sendmsg and release
 * programs (loader_hooks.c), and the pin helpers the loader shares with
 * them.  Not part of any public API.
 */
#ifndef MLB_LOADER_HOOKS_H
#define MLB_LOADER_HOOKS_H

#include <stddef.h>

#include "error.h"
#include "mlb.skel.h"
#include "state.h"

/* Pin the connect, sendmsg and release programs in dir,
 * and attach (or detach) each as state needs it now, pinning its link
 * in dir. */
int loader_pin_hooks(struct mlb_bpf *skel, const char *dir,
		     struct mlb_err *err);
int loader_sync_hooks(int cgroup_fd, const char *dir,
		      const struct mlb_state *state, struct mlb_err *err);

/* dir/name into buf. */
void loader_pin_path(const char *dir, const char *name, char *buf,
		     size_t len);

/* Unpin one pinned object, detaching a link first; 0 or -errno. */
int loader_unpin(const char *path);

#endif
