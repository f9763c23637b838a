/* containers.h - containers behind veths in an attachment's namespace:
 * the host end of each veth gets the program that puts back the mark the
 * container's socket was given (bpf/mlb.bpf.c, mlb_tc_container).
 *
 * A container veth is a veth whose peer is in another namespace (the
 * kernel gives it a link netnsid), other than the record's uplinks and
 * --lan interfaces.  The program's map "veths" holds each one's peer
 * namespace id, for the socket lookup, and its name; "veth_counts" the
 * connections its container started per uplink.  Finding the veths and
 * reading the program's maps is containers_veth.h's, below this.
 */
#ifndef MLB_CONTAINERS_H
#define MLB_CONTAINERS_H

#include "error.h"
#include "state.h"

/* Put the program on every container veth there is now (the caller is
 * in the state's namespace).  All or nothing. */
int containers_attach(const struct mlb_state *state, struct mlb_err *err);

/* Put it on veths that appeared since, drop what it kept of those gone. */
int containers_refresh(const struct mlb_state *state, struct mlb_err *err);

#endif
