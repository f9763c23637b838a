/* attachment.h - one whole attachment, done and undone in a fixed order:
 * routing, then NAT, then the BPF program (so no socket is marked before
 * its route exists); undone in reverse.  The steps only: the commands
 * that put them together under the writers' lock are attach.h's.
 */
#ifndef MLB_ATTACHMENT_H
#define MLB_ATTACHMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "attach_request.h"
#include "error.h"
#include "state.h"

/* What attach_cgroup (attach.h) and attachment_prepare return when the
 * request itself can never work (bad numbers, duplicate uplinks). */
#define ATTACHMENT_BAD_INPUT (-3)

/* What attach would record for req, found without changing anything: the
 * request checked, the cgroup resolved, each uplink's addresses and
 * gateways looked up in the request's namespace (whose inode it records).
 * Errors as attach_cgroup's (attach.h). */
int attachment_prepare(const struct attach_request *req,
		       struct mlb_state *state, struct mlb_err *err);

/* The record of what is attached to cgroup_id: 1 with *state filled, 0 if
 * nothing is, -1 on error. */
int attachment_read(uint64_t cgroup_id, struct mlb_state *state,
		    struct mlb_err *err);

/* Nothing is attached (to the cgroup asked about). */
#define ATTACHMENT_NONE (-2)

/* Remove the attachment whose record is state: routing and NAT in its
 * namespace, then the pins. */
int attachment_remove(const struct mlb_state *state, struct mlb_err *err);

/* Enter the network namespace the state's routing is in.  Returns 1 if
 * that namespace no longer exists (its rules and tables went with it). */
int attachment_enter_netns(const struct mlb_state *state,
			   struct mlb_err *err);

/* Whether two attachments (of different cgroups) share their routing: the
 * same namespace, marks, tables and priorities (policies of different
 * cgroups over one set of uplinks). */
bool attachment_same_routing(const struct mlb_state *a,
			     const struct mlb_state *b);

/* The cgroup id for a --cgroup argument (NULL: the cgroup2 mount). */
int attachment_cgroup_id(const char *cgroup, uint64_t *id, char *path,
			 size_t len, struct mlb_err *err);

/* The steps of attach.h's commands, each in the order they run there. */

/* Check the request and fill state from it; non-zero if it can never
 * work (ATTACHMENT_BAD_INPUT's cases). */
int attachment_check_request(const struct attach_request *req,
			     struct mlb_state *state, struct mlb_err *err);

/* Enter the request's namespace (it stays there) and look its uplinks'
 * addresses and gateways up into state. */
int attachment_resolve(const struct attach_request *req,
		       struct mlb_state *state, struct mlb_err *err);

/* In the request's namespace: share the routing another policy set up
 * with the same marks and tables, or check that ours is free; then
 * routing, NAT, the BPF program, undone on failure. */
int attachment_set_up(const struct attach_request *req,
		      struct mlb_state *state, int cgroup_fd,
		      struct mlb_err *err);

/* Set the recorded attachment state up again in its own namespace
 * (sharing routing as it did); -1 if that namespace is gone. */
int attachment_reapply(struct mlb_state *state, int cgroup_fd,
		       struct mlb_err *err);

/* After a new attachment failed: put the replaced one, old, back, and
 * say in err whether that worked. */
void attachment_put_back(struct mlb_state *old, int cgroup_fd,
			 struct mlb_err *err);

#endif
