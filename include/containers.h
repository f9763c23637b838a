/* containers.h - containers behind veths in an attachment's namespace:
 * the host end of each veth gets the program that puts back the mark the
 * container's socket was given (bpf/mlb.bpf.c, mlb_tc_container).
 *
 * A container veth is a veth whose peer is in another namespace (the
 * kernel gives it a link netnsid), other than the record's uplinks and
 * --lan interfaces.  The program's map "veths" holds each one's peer
 * namespace id, for the socket lookup, and its name; "veth_counts" the
 * connections its container started per uplink.
 */
#ifndef MLB_CONTAINERS_H
#define MLB_CONTAINERS_H

#include <stdint.h>

#include "error.h"
#include "state.h"

/* Put the program on every container veth there is now (the caller is
 * in the state's namespace).  All or nothing. */
int containers_attach(const struct mlb_state *state, struct mlb_err *err);

/* Put it on veths that appeared since, drop what it kept of those gone. */
int containers_refresh(const struct mlb_state *state, struct mlb_err *err);

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
