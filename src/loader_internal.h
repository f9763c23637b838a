/* loader_internal.h - what the two halves of the loader share: loader.c
 * loads, attaches and pins the BPF object; loader_fit.c shapes it first,
 * for the attachment and for the kernel it runs on.  Not part of any
 * public API.
 */
#ifndef MLB_LOADER_INTERNAL_H
#define MLB_LOADER_INTERNAL_H

#include "error.h"
#include "mlb.skel.h"
#include "state.h"

/* Between open and load: leave out of the object what neither the
 * attachment nor the kernel has a use for (the LAN program without
 * --lan; socket storage and the destination programs where the kernel
 * lacks them), so a kernel without a feature still loads the rest.  An
 * option whose feature is missing is refused with the one line
 * (kernel_features.h). */
int loader_fit(struct mlb_bpf *skel, const struct mlb_state *state,
	       struct mlb_err *err);

/* Whether the attachment attaches the destination programs (rules or
 * --sticky). */
bool loader_wants_dest_programs(const struct mlb_state *state);


#endif
