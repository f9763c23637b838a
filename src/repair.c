/* repair.c - an attachment's routing put back as its record says (see
 * repair.h). */
#include <arpa/inet.h>
#include <limits.h>
#include <string.h>

#include "attachment.h"
#include "loader.h"
#include "lock.h"
#include "netns.h"
#include "repair.h"

#define MAX_ATTACHMENTS 256

int repair_check(const struct mlb_state *state, struct route_check *out,
		 struct mlb_err *err)
{
	struct mlb_err ignored;
	int gone, ret;

	memset(out, 0, sizeof(*out));
	if (netns_save_home(err))
		return -1;
	gone = attachment_enter_netns(state, err);
	if (gone)
		ret = gone;
	else
		ret = route_reconcile(state, false, out, err);
	netns_return_home(&ignored);
	return ret;
}

/* Each uplink's interface as the kernel has it now, into next. */
static void follow_links(struct mlb_state *next, FILE *out)
{
	char addr[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];

	for (unsigned i = 0; i < next->nuplinks; i++) {
		struct mlb_state_uplink *u = &next->uplinks[i];
		struct mlb_state_uplink before = *u;
		struct mlb_link_info link;
		struct mlb_err ignored;

		if (route_lookup_link(u->ifname, &link, &ignored))
			continue;
		route_follow_link(u, &link);
		if (!memcmp(&before, u, sizeof(before)))
			continue;
		fprintf(out, "cgroup %s uplink %s: record follows the link: "
			"index %u, %s via %s\n", next->cgroup_path, u->ifname,
			u->ifindex,
			u->addr ? inet_ntop(AF_INET, &u->addr, addr,
					    sizeof(addr)) :
			inet_ntop(AF_INET6, u->addr6, addr, sizeof(addr)),
			u->addr ? inet_ntop(AF_INET, &u->gateway, gw,
					    sizeof(gw)) :
			inet_ntop(AF_INET6, u->gateway6, gw, sizeof(gw)));
	}
}

/* One line for a part that changed or is still incomplete; returns
 * whether it printed. */
static bool report_part(FILE *out, const struct mlb_state *state,
			const char *who, unsigned table,
			const struct route_uplink_check *c)
{
	bool printed = false;
	char what[128];

	if (route_describe_repair(c, table, what, sizeof(what))) {
		fprintf(out, "cgroup %s %s: %s\n", state->cgroup_path, who,
			what);
		printed = true;
	}
	if (c->missing[0] || c->missing[1]) {
		fprintf(out, "cgroup %s %s: not repaired: %s\n",
			state->cgroup_path, who, c->problem);
		printed = true;
	}
	return printed;
}

static int repair_one(uint64_t id, FILE *out, bool *incomplete,
		      struct mlb_err *err)
{
	static struct mlb_state state, next;
	struct route_check check;
	struct mlb_pins pins;
	struct mlb_err ignored;
	bool printed = false;
	char who[IF_NAMESIZE + 8];
	int gone, ret = -1;

	if (loader_open(id, &pins, err))
		return -1;
	if (loader_read_state(&pins, &state, err))
		goto out;
	gone = attachment_enter_netns(&state, err);
	if (gone < 0)
		goto out;
	if (gone) {
		fprintf(out, "cgroup %s: network namespace %s is gone; "
			"nothing to repair (detach it)\n", state.cgroup_path,
			state.netns_path);
		ret = 0;
		goto out;
	}
	next = state;
	follow_links(&next, out);
	if (memcmp(&next, &state, sizeof(next)) &&
	    loader_write_state(&pins, &next, err))
		goto out;
	if (route_reconcile(&next, true, &check, err))
		goto out;
	for (unsigned i = 0; i < next.nuplinks; i++) {
		snprintf(who, sizeof(who), "uplink %s", next.uplinks[i].ifname);
		printed |= report_part(out, &next, who, next.uplinks[i].table,
				       &check.up[i]);
	}
	printed |= report_part(out, &next, "rules", next.priority,
			       &check.shared);
	if (!route_complete(&next, &check))
		*incomplete = true;
	else if (!printed)
		fprintf(out, "cgroup %s: routing complete, nothing to "
			"repair\n", next.cgroup_path);
	ret = 0;
out:
	netns_return_home(&ignored);
	loader_close(&pins);
	return ret;
}

int repair_run(const char *cgroup, FILE *out, struct mlb_err *err)
{
	uint64_t ids[MAX_ATTACHMENTS];
	char path[PATH_MAX];
	bool incomplete = false;
	unsigned n;
	int ret = 0;

	if (netns_save_home(err))
		return -1;
	if (cgroup) {
		if (attachment_cgroup_id(cgroup, &ids[0], path, sizeof(path),
					 err))
			return -1;
		if (!loader_is_attached(ids[0])) {
			mlb_fail(err, "nothing is attached to cgroup %s", path);
			return ATTACHMENT_NONE;
		}
		n = 1;
	} else {
		n = loader_list(ids, MAX_ATTACHMENTS);
		if (n == 0) {
			mlb_fail(err, "nothing is attached");
			return ATTACHMENT_NONE;
		}
	}
	if (mlb_lock(err))
		return -1;
	for (unsigned i = 0; i < n && !ret; i++)
		ret = repair_one(ids[i], out, &incomplete, err);
	mlb_unlock();
	if (ret)
		return ret;
	return incomplete ? MLB_INCONSISTENT : 0;
}
