/* forward.h - what an attachment balances beyond the host's own sockets:
 * containers behind veths (containers.h) and the clients of --lan
 * interfaces (lan.h).  Both are programs of the attachment's BPF object
 * on interfaces' ingress (tc.h), put there after the cgroup program is
 * attached and taken off before its pins go.
 */
#ifndef MLB_FORWARD_H
#define MLB_FORWARD_H

#include "error.h"
#include "state.h"

/* Choose how tc programs are attached on this kernel (state->tc_mode),
 * before the record is written. */
int forward_prepare(struct mlb_state *state, struct mlb_err *err);

/* Put the programs on the interfaces of the state's namespace (the
 * caller is in it).  All or nothing: on failure none stays. */
int forward_attach(const struct mlb_state *state, struct mlb_err *err);

/* After a link event: put the programs on interfaces that appeared since
 * (a container started, a --lan interface made again) and forget those
 * that went.  The caller is in the state's namespace and holds the lock. */
int forward_refresh(const struct mlb_state *state, struct mlb_err *err);

/* Take every tc program of the attachment off every interface of the
 * state's namespace (the caller is in it), whatever mode attached it. */
int forward_detach(const struct mlb_state *state, struct mlb_err *err);

#endif
