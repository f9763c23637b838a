/* loader_capacity.h - the pinned "capacity" map of an attachment: what
 * watch measured of each uplink and the weight it set (struct
 * mlb_capacity), for --balance adaptive.  The BPF programs never read it;
 * it lives beside the attachment's other pins, made by the first watch
 * that needs it (an attachment made by an older release has none until
 * then), removed with them at detach.
 */
#ifndef MLB_LOADER_CAPACITY_H
#define MLB_LOADER_CAPACITY_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "mlb.h"

/* A file descriptor of cgroup_id's capacity map, made and pinned first if
 * create is set and there is none.  -1 with a message on failure, or
 * without one (err->msg empty) when there is none and create is unset. */
int loader_open_capacity(uint64_t cgroup_id, bool create, struct mlb_err *err);

/* Entries 0..n-1 (every field 0 where watch wrote none). */
int loader_read_capacity(int fd, unsigned n, struct mlb_capacity *out,
			 struct mlb_err *err);

int loader_write_capacity(int fd, unsigned i, const struct mlb_capacity *c,
			  struct mlb_err *err);

/* What status and metrics show: entries 0..n-1 of cgroup_id's map, all
 * zero when it has none.  Returns 0, or -1 with a message if the map is
 * there but unreadable. */
int loader_capacity_view(uint64_t cgroup_id, unsigned n,
			 struct mlb_capacity *out, struct mlb_err *err);

/* The weights watch put in force for cgroup_id's uplinks 0..n-1 into
 * weights; false if it set none (no map, or never adaptive). */
bool loader_capacity_weights(uint64_t cgroup_id, unsigned n,
			     unsigned *weights);

#endif
