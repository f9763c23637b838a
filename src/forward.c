/* forward.c - attach and remove an attachment's tc programs as one step
 * (see forward.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers.h"
#include "containers_veth.h"
#include "forward.h"
#include "journal.h"
#include "lan.h"
#include "loader.h"
#include "tc.h"

static int read_sysctl(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* The kernel filters by the larger of "all" and the interface's own. */
static int rp_filter_of(const char *ifname)
{
	char path[128];
	int all, own;

	all = read_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter");
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter",
		 ifname);
	own = read_sysctl(path);
	return all > own ? all : own;
}

/* A reply to a forwarded flow (a container's, a LAN client's) comes in on
 * the uplink the flow left by, is given back the client's address by
 * conntrack, and carries no mark: a strict reverse-path filter looks that
 * address up in main, whose default is one uplink, and drops the replies
 * that come in on any other.  Loose filtering (2) lets them through. */
static void warn_strict_rp_filter(const struct mlb_state *state)
{
	struct container_view *veths = NULL;
	unsigned nveths = 0;
	struct mlb_err ignored;
	char strict[256] = "";
	size_t len = 0;

	if (containers_read(state->cgroup_id, &veths, &nveths, &ignored))
		nveths = 0;
	free(veths);
	if (!state->nlan && !nveths)
		return;
	for (unsigned i = 0; i < state->nuplinks; i++) {
		const struct mlb_state_uplink *u = &state->uplinks[i];

		if (u->addr && rp_filter_of(u->ifname) == 1 &&
		    len + strlen(u->ifname) + 3 < sizeof(strict))
			len += (size_t)snprintf(strict + len,
						sizeof(strict) - len, "%s%s",
						len ? ", " : "", u->ifname);
	}
	if (len)
		journal_note("warning: strict reverse-path filtering "
			     "(rp_filter=1) on %s drops the replies to "
			     "forwarded flows that come back by another "
			     "uplink than main's; set net.ipv4.conf.all and "
			     "net.ipv4.conf.IFACE.rp_filter to 2 (loose)",
			     strict);
}

int forward_prepare(struct mlb_state *state, struct mlb_err *err)
{
	return tc_pick_mode(&state->tc_mode, err);
}

int forward_attach(const struct mlb_state *state, struct mlb_err *err)
{
	struct mlb_err ignored;

	if (containers_attach(state, err))
		return mlb_fail_prefix(err, "containers");
	if (lan_attach(state, err)) {
		mlb_fail_prefix(err, "LAN");
		forward_detach(state, &ignored);
		return -1;
	}
	warn_strict_rp_filter(state);
	return 0;
}

int forward_refresh(const struct mlb_state *state, struct mlb_err *err)
{
	if (containers_refresh(state, err))
		return mlb_fail_prefix(err, "containers");
	if (lan_refresh(state, err))
		return mlb_fail_prefix(err, "LAN");
	return 0;
}

int forward_detach(const struct mlb_state *state, struct mlb_err *err)
{
	char dir[128];

	loader_pin_dir(state->cgroup_id, dir, sizeof(dir));
	return tc_detach_all(dir, state->cgroup_id, err);
}
