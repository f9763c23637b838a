/* attachment.h - one whole attachment, done and undone in a fixed order:
 * routing, then NAT, then the BPF program (so no socket is marked before
 * its route exists); undone in reverse.  Attach is all or nothing, and
 * re-attaching to a cgroup replaces what was there.
 */
#ifndef MLB_ATTACHMENT_H
#define MLB_ATTACHMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "options.h"
#include "state.h"

/* What `attach` was asked to do, after option parsing. */
struct attach_request {
	const char *cgroup;		/* NULL: the cgroup2 mount point */
	const char *netns;		/* NULL: this namespace */
	struct mlb_uplink_spec uplinks[MLB_MAX_UPLINKS];
	unsigned nuplinks;
	uint32_t mark_base;
	uint32_t mark_mask;
	uint32_t table_base;
	uint32_t priority;
	bool masquerade;
	bool record_sockets;
	unsigned last_resort;		/* MLB_LAST_RESORT_* */
	struct mlb_dest_spec dests[MLB_STATE_MAX_DESTS];
	unsigned ndests;
	unsigned sticky_seconds;
	char lan[MLB_MAX_LAN][IF_NAMESIZE];	/* --lan interfaces */
	unsigned nlan;
};

/* Check, resolve and set up everything; on failure nothing is left (and a
 * replaced attachment is put back).  Returns ATTACHMENT_BAD_INPUT when the
 * request itself can never work (bad numbers, duplicate uplinks). */
#define ATTACHMENT_BAD_INPUT (-3)
int attachment_attach(const struct attach_request *req, struct mlb_err *err);

/* What attach would record for req, found without changing anything: the
 * request checked, the cgroup resolved, each uplink's addresses and
 * gateways looked up in the request's namespace (whose inode it records).
 * Errors as attachment_attach's. */
int attachment_prepare(const struct attach_request *req,
		       struct mlb_state *state, struct mlb_err *err);

/* The record of what is attached to cgroup_id: 1 with *state filled, 0 if
 * nothing is, -1 on error. */
int attachment_read(uint64_t cgroup_id, struct mlb_state *state,
		    struct mlb_err *err);

/* Remove the attachment of one cgroup (by path) or, with path NULL and
 * all set, every attachment.  Returns ATTACHMENT_NONE when there is
 * nothing to detach. */
#define ATTACHMENT_NONE (-2)
int attachment_detach(const char *cgroup, bool all, struct mlb_err *err);

/* Remove the attachment whose record is state: routing and NAT in its
 * namespace, then the pins. */
int attachment_remove(const struct mlb_state *state, struct mlb_err *err);

/* Put back the attachment whose record is state, as recorded (its
 * cgroup must still be the same), replacing what is attached there now:
 * undoes an apply that failed half way. */
int attachment_restore(const struct mlb_state *state, struct mlb_err *err);

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

#endif
