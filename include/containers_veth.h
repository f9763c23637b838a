/* containers_internal.h - what the two halves of the containers module
 * share: containers_veth.c finds the container veths of a namespace and
 * opens the program's maps; containers.c puts the program on them and
 * takes it off.  Not part of any public API.
 */
#ifndef MLB_CONTAINERS_INTERNAL_H
#define MLB_CONTAINERS_INTERNAL_H

#include <stdint.h>

#include "error.h"
#include "mlb.h"
#include "state.h"

/* The attachment's container program and the maps it uses. */
struct container_maps {
	int prog;
	uint32_t prog_id;
	int veths;			/* ifindex -> struct mlb_veth */
	int counts;			/* struct mlb_veth_count_key -> u64 per CPU */
};

int container_maps_open(uint64_t cgroup_id, struct container_maps *m,
			struct mlb_err *err);
void container_maps_close(struct container_maps *m);

/* One container veth found in the namespace. */
struct container_veth {
	uint32_t ifindex;
	struct mlb_veth v;
};

/* The container veths of the calling thread's namespace (see
 * containers.h), up to MLB_MAX_VETHS: *out is allocated (free() it). */
int container_veths_find(const struct mlb_state *state,
			 struct container_veth **out, unsigned *n,
			 struct mlb_err *err);

/* Forget what the maps hold of ifindex: its entry and its counts. */
void container_maps_forget(const struct container_maps *m, uint32_t ifindex);

#endif
