/* state_version.c - the attachment record's versions (see
 * state_version.h). */
#include <string.h>

#include "state_version.h"

/* Version 6 ended where version 7 added made_by. */
_Static_assert(offsetof(struct mlb_state, made_by) == 11328,
	       "version 6 of the record is 11328 bytes: fields only go at the end");

/* Version 7 (0.2.0) ended where version 8 added floor_pct. */
_Static_assert(offsetof(struct mlb_state, floor_pct) == 11344,
	       "version 7 of the record is 11344 bytes: fields only go at the end");

size_t mlb_state_size(__u32 version)
{
	switch (version) {
	case 6:
		return offsetof(struct mlb_state, made_by);
	case 7:
		return offsetof(struct mlb_state, floor_pct);
	case MLB_STATE_VERSION:
		return sizeof(struct mlb_state);
	default:
		return 0;
	}
}

int mlb_state_from_stored(const void *stored, size_t size,
			  struct mlb_state *out, const char *what,
			  struct mlb_err *err)
{
	__u32 version;

	if (size < sizeof(version))
		return mlb_fail(err, "%s is corrupt (%zu bytes)", what, size);
	memcpy(&version, stored, sizeof(version));
	if (version > MLB_STATE_VERSION)
		return mlb_fail(err, "%s was written by a newer mlb-bpf (record "
				"version %u; this one, %s, reads %u to %u): use "
				"that release", what, version, MLB_VERSION,
				MLB_STATE_OLDEST, MLB_STATE_VERSION);
	if (version < MLB_STATE_OLDEST || mlb_state_size(version) != size)
		return mlb_fail(err, "%s is corrupt or from an unknown version "
				"of mlb-bpf (version %u, %zu bytes)", what,
				version, size);
	memset(out, 0, sizeof(*out));
	memcpy(out, stored, size);
	out->version = MLB_STATE_VERSION;
	return 0;
}
