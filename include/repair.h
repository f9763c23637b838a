/* repair.h - an attachment's routing put back as its record says, without
 * watch: the `repair` command, and the read-only check `status` shows.
 *
 * The kernel drops an uplink's routes when its link goes admin down or
 * away and never restores them; watch repairs that as it happens.  Where
 * watch does not run, status shows the damage and repair mends it.
 */
#ifndef MLB_REPAIR_H
#define MLB_REPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "error.h"
#include "route_reconcile.h"
#include "state.h"

/* What a status or repair may end with besides 0 and -1: attached, but
 * the kernel does not hold what the record says (exit status 4). */
#define MLB_INCONSISTENT 4

/* Compare the routing in the state's namespace with the state (nothing
 * changes).  Returns 0 with out filled, 1 if the namespace is gone (out
 * then says nothing is missing), -1 if it could not be looked at. */
int repair_check(const struct mlb_state *state, struct route_check *out,
		 struct mlb_err *err);

/* Under the writers' lock, for every attachment (or the one of cgroup):
 * follow each uplink's interface as it is now into the record (a new
 * index, address or gateway), then make the routing what the record
 * says.  One line on out per change, or one saying nothing was needed.
 * Returns MLB_INCONSISTENT when something could not be put back (a link
 * still down), ATTACHMENT_NONE when cgroup has no attachment. */
int repair_run(const char *cgroup, FILE *out, struct mlb_err *err);

/* Under the writers' lock: read the attachment's record into before and
 * write it back as after, with each uplink's routing (interface index,
 * addresses, gateways) taken from found (uplinks matched by name; the
 * rest of the record, which apply may have changed, stays). */
struct mlb_pins;
int repair_record(struct mlb_pins *pins, const struct mlb_state *found,
		  struct mlb_state *before, struct mlb_state *after,
		  struct mlb_err *err);

/* What changed of an uplink's routing from u to n, as "now ADDR/LEN via
 * GW" (per family) and "interface index N (was M)"; false if nothing. */
bool repair_describe_move(const struct mlb_state_uplink *u,
			  const struct mlb_state_uplink *n, char *buf,
			  size_t len);

/* The hint shown with damaged routing. */
#define REPAIR_HINT "run `mlb-bpf repair` once, or keep `mlb-bpf watch` " \
	"(mlb-bpf-watch.service) running to repair it as it happens"

#endif
