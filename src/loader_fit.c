/* loader_fit.c - shape the BPF object for the attachment and the kernel
 * before it is loaded (see loader_internal.h).
 *
 * libbpf loads every program and makes every map of an object, and one
 * the kernel refuses fails the whole load with EINVAL or a verifier log.
 * So what a kernel lacks is left out here, where the option that would
 * need it is off: the map is not made (autocreate), the program not
 * loaded (autoload), and code that would use them is dead to the
 * verifier (a read-only global set here).
 */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "kernel_features.h"
#include "loader_internal.h"

bool loader_wants_dest_programs(const struct mlb_state *state)
{
	return state->ndests || state->sticky_seconds;
}

/* The LAN program needs the conntrack kfuncs, which the others do not:
 * it is loaded only for --lan. */
static int fit_lan(struct mlb_bpf *skel, const struct mlb_state *state,
		   struct mlb_err *err)
{
	if (state->nlan)
		return 0;
	/* no program uses the LAN flows' map, which goes when attach
	 * exits: one entry, not megabytes, meanwhile */
	if (bpf_program__set_autoload(skel->progs.mlb_tc_lan, false) ||
	    bpf_map__set_max_entries(skel->maps.lan_marks, 1))
		return mlb_fail(err, "sizing the LAN flows' map: %s",
				strerror(errno));
	return 0;
}

/* sk_uplink is made wherever the kernel has socket storage in
 * cgroup/sock_create (5.9+), so the pins are the same with or without
 * --record-sockets; the program only writes it with the option. */
static int fit_record_sockets(struct mlb_bpf *skel,
			      const struct mlb_state *state,
			      struct mlb_err *err)
{
	skel->rodata->record_sockets = state->record_sockets;
	if (!state->record_sockets && !features_have(FEAT_SK_STORAGE) &&
	    bpf_map__set_autocreate(skel->maps.sk_uplink, false))
		return mlb_fail(err, "leaving out sk_uplink: %s",
				strerror(errno));
	return 0;
}

/* The destination programs are loaded (and pinned) for every attachment
 * whose kernel can run them, attached only while there are rules or
 * --sticky; a kernel without bpf_setsockopt in connect/sendmsg (before
 * 5.12) gets none, and those options are refused. */
static int fit_destinations(struct mlb_bpf *skel,
			    const struct mlb_state *state,
			    struct mlb_err *err)
{
	struct bpf_program *progs[] = {
		skel->progs.mlb_connect4, skel->progs.mlb_sendmsg4,
		skel->progs.mlb_connect6, skel->progs.mlb_sendmsg6,
	};

	if (loader_wants_dest_programs(state) ||
	    (features_have(FEAT_CONNECT) && features_have(FEAT_SENDMSG)))
		return 0;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		if (bpf_program__set_autoload(progs[i], false))
			return mlb_fail(err, "leaving out the destination "
					"programs: %s", strerror(errno));
	return 0;
}

/* Least-conn's counting needs socket storage in sock_create and in the
 * connect programs; without it the code is dead to the verifier, the
 * release program is not loaded, and --balance least-conn is refused. */
static int fit_conns(struct mlb_bpf *skel, struct mlb_err *err)
{
	bool can = features_have(FEAT_SK_STORAGE) &&
		   features_have(FEAT_CONNECT) && features_have(FEAT_SENDMSG);

	skel->rodata->can_count_conns = can;
	if (!can && (bpf_program__set_autoload(skel->progs.mlb_sock_release,
					       false) ||
		     bpf_map__set_autocreate(skel->maps.sk_charge, false)))
		return mlb_fail(err, "leaving out the live counts: %s",
				strerror(errno));
	return 0;
}

int loader_fit(struct mlb_bpf *skel, const struct mlb_state *state,
	       struct mlb_err *err)
{
	/* asked again here, on the load path itself: whatever called it,
	 * an option whose feature is missing gets the one line, not the
	 * verifier's */
	return features_check_state(state, err) ||
	       fit_lan(skel, state, err) ||
	       fit_record_sockets(skel, state, err) ||
	       fit_destinations(skel, state, err) ||
	       fit_conns(skel, err) ? -1 : 0;
}
