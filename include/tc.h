/* tc.h - put one of an attachment's BPF programs on an interface's
 * ingress, find it there again, and take it off.
 *
 * Two kernel interfaces, chosen once per attachment (tc_pick_mode) and
 * kept in its record (mlb_state.tc_mode):
 *  - tcx (kernel 6.6 and later): a BPF link, pinned in the attachment's
 *    pin directory as "tcx-<ifindex>", so it lives and dies with the
 *    attachment's other pins;
 *  - clsact (older kernels): a cls_bpf filter in direct-action mode on the
 *    clsact qdisc's ingress, at priority MLB_TC_PRIORITY, whose handle is
 *    the attachment's cgroup id (its low 32 bits): detach and recovery
 *    find it on every interface without any pin.
 * Our programs always let the packet go on to whatever runs after them
 * (TCX_NEXT, TC_ACT_UNSPEC), so they stack with other tc users.
 *
 * Every call works in the calling thread's network namespace.
 */
#ifndef MLB_TC_H
#define MLB_TC_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define MLB_TC_NONE 0			/* no tc program attached */
#define MLB_TC_TCX 1
#define MLB_TC_CLSACT 2

/* cls_bpf priority of our filters (1..65535): "ML". */
#define MLB_TC_PRIORITY 0x4d4c

/* tcx where the kernel has it, clsact otherwise.  The environment
 * variable MLB_TC_MODE=tcx|clsact forces one (for tests of the older
 * path on a newer kernel); forcing tcx where it is missing fails. */
int tc_pick_mode(uint32_t *mode, struct mlb_err *err);

const char *tc_mode_name(uint32_t mode);

/* Attach prog_fd to ifindex's ingress for the attachment of cgroup_id,
 * whose pins are in pin_dir.  Attaching again replaces the program. */
int tc_attach(uint32_t mode, int prog_fd, const char *pin_dir,
	      uint64_t cgroup_id, int ifindex, struct mlb_err *err);

/* Take the attachment's program off ifindex; nothing there is fine. */
int tc_detach(uint32_t mode, const char *pin_dir, uint64_t cgroup_id,
	      int ifindex, struct mlb_err *err);

/* Whether the program prog_id is on ifindex's ingress. */
bool tc_is_attached(uint32_t mode, uint64_t cgroup_id, int ifindex,
		    uint32_t prog_id);

/* Take the attachment's programs off every interface of the namespace,
 * in both modes: the tcx links pinned in pin_dir and the clsact filters
 * with the attachment's handle (what a killed attach may have left). */
int tc_detach_all(const char *pin_dir, uint64_t cgroup_id,
		  struct mlb_err *err);

#endif
