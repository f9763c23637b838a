/* containers_veth.h - the container veths of a namespace (see
 * containers.h) and the maps the container program keeps of them: found,
 * opened, forgotten, and read for status.  containers.c, above, puts the
 * program on the veths found here and takes it off.
 */
#ifndef MLB_CONTAINERS_VETH_H
#define MLB_CONTAINERS_VETH_H

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

/* One container veth as status shows it. */
struct container_view {
	char ifname[16];
	uint32_t ifindex;
	int32_t netnsid;
	uint64_t counts[MLB_MAX_UPLINKS + 1];	/* connections per uplink */
};

/* The container veths of cgroup_id's attachment, from its pins alone (no
 * namespace needed): *out is allocated (free() it), *n set.  An
 * attachment made before containers were balanced has none. */
int containers_read(uint64_t cgroup_id, struct container_view **out,
		    unsigned *n, struct mlb_err *err);

#endif
