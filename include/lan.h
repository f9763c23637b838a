/* lan.h - the clients of --lan interfaces, forwarded by the host: each
 * interface gets the program that balances their new flows
 * (bpf/mlb.bpf.c, mlb_tc_lan).
 */
#ifndef MLB_LAN_H
#define MLB_LAN_H

#include "error.h"
#include "state.h"

/* Put the program on every --lan interface of the state (the caller is in
 * the state's namespace). */
int lan_attach(const struct mlb_state *state, struct mlb_err *err);

/* Put it back on a --lan interface that was made again (a new ifindex). */
int lan_refresh(const struct mlb_state *state, struct mlb_err *err);

#endif
