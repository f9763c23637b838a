/* containers.h - containers behind veths in an attachment's namespace:
 * the host end of each veth gets the program that puts back the mark the
 * container's socket was given (bpf/mlb.bpf.c, mlb_tc_container).
 */
#ifndef MLB_CONTAINERS_H
#define MLB_CONTAINERS_H

#include "error.h"
#include "state.h"

/* Put the program on every container veth there is now (the caller is
 * in the state's namespace). */
int containers_attach(const struct mlb_state *state, struct mlb_err *err);

/* Put it on veths that appeared since, drop what it kept of those gone. */
int containers_refresh(const struct mlb_state *state, struct mlb_err *err);

#endif
