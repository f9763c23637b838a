/* audit.h - whether what is pinned under MLB_PIN_ROOT matches what the
 * kernel runs, for status to report and detach to repair:
 *
 *   - a record without its program: the attachment's link pin is
 *     missing, or its link is no longer attached to the record's cgroup;
 *   - a program without its record: a cgroup BPF link running one of
 *     mlb-bpf's programs (known by program name) that is not one of the
 *     links pinned in a published attachment directory (for example one
 *     pinned in the staging directory of an attach that was killed).
 *
 * Only status's reading of the second is racy (a writer holds a link
 * before pinning it): callers look only while no writer holds the lock.
 */
#ifndef MLB_AUDIT_H
#define MLB_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum audit_link {
	AUDIT_LINK_OK,
	AUDIT_LINK_MISSING,	/* no link pin, or it cannot be opened */
	AUDIT_LINK_DETACHED,	/* attached to no cgroup, or another */
};

/* The state of the main link of cgroup_id's attachment. */
enum audit_link audit_record_link(uint64_t cgroup_id);

/* An mlb-bpf program attached with no record. */
struct audit_stray {
	uint64_t cgroup_id;
	uint32_t link_id;
	uint32_t prog_id;
	char prog_name[16];
};

/* Such programs on cgroup_id (0: on any cgroup); returns how many (up to
 * max). */
unsigned audit_strays(uint64_t cgroup_id, struct audit_stray *out,
		      unsigned max);

/* Detach them from cgroup_id; returns how many were, or -1. */
int audit_detach_strays(uint64_t cgroup_id);

/* The path of the cgroup2 directory whose id is cgroup_id, or "". */
void audit_cgroup_path(uint64_t cgroup_id, char *buf, size_t len);

#endif
