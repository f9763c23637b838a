/* repair.c - an attachment's routing put back as its record says (see
 * repair.h). */
#include <arpa/inet.h>
#include <limits.h>
#include <string.h>

#include "attachment.h"
#include "journal.h"
#include "loader.h"
#include "lock.h"
#include "netns.h"
#include "recover.h"
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

bool repair_describe_move(const struct mlb_state_uplink *u,
			  const struct mlb_state_uplink *n, char *buf,
			  size_t len)
{
	char addr[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];
	size_t used = 0;

	buf[0] = 0;
	if (n->addr != u->addr || n->prefixlen != u->prefixlen ||
	    n->gateway != u->gateway)
		used += (size_t)snprintf(buf, len, "now %s/%u via %s",
			inet_ntop(AF_INET, &n->addr, addr, sizeof(addr)),
			n->prefixlen,
			inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw)));
	if (used < len && (memcmp(n->addr6, u->addr6, sizeof(n->addr6)) ||
			   n->prefixlen6 != u->prefixlen6 ||
			   memcmp(n->gateway6, u->gateway6, sizeof(n->gateway6))))
		used += (size_t)snprintf(buf + used, len - used,
			"%snow %s/%u via %s", used ? ", " : "",
			inet_ntop(AF_INET6, n->addr6, addr, sizeof(addr)),
			n->prefixlen6, mlb_addr_is_none(n->gateway6) ? "none" :
			inet_ntop(AF_INET6, n->gateway6, gw, sizeof(gw)));
	if (used < len && n->ifindex != u->ifindex)
		used += (size_t)snprintf(buf + used, len - used,
			"%sinterface index %u (was %u)", used ? ", " : "",
			n->ifindex, u->ifindex);
	return buf[0] != 0;
}

int repair_record(struct mlb_pins *pins, const struct mlb_state *found,
		  struct mlb_state *before, struct mlb_state *after,
		  struct mlb_err *err)
{
	if (loader_read_state(pins, before, err))
		return -1;
	if (before->nuplinks != found->nuplinks)
		return mlb_fail(err, "cgroup %s: its record changed",
				before->cgroup_path);
	*after = *before;
	for (unsigned j = 0; j < after->nuplinks; j++) {
		const struct mlb_state_uplink *f = &found->uplinks[j];
		struct mlb_state_uplink *u = &after->uplinks[j];

		if (strcmp(f->ifname, u->ifname))
			continue;
		mlb_uplink_copy_link(u, f);
	}
	if (memcmp(after, before, sizeof(*after)) &&
	    loader_write_state(pins, after, err))
		return -1;
	return 0;
}

/* Each uplink's interface as the kernel has it now, into next. */
static void follow_links(const struct mlb_state *state,
			 struct mlb_state *next, FILE *out)
{
	char moved[256];

	for (unsigned i = 0; i < next->nuplinks; i++) {
		struct mlb_state_uplink *u = &next->uplinks[i];
		struct mlb_link_info link;
		struct mlb_err ignored;

		if (route_lookup_link(u->ifname, &link, &ignored))
			continue;
		route_follow_link(u, &link);
		if (repair_describe_move(&state->uplinks[i], u, moved,
					 sizeof(moved)))
			fprintf(out, "cgroup %s uplink %s: %s\n",
				next->cgroup_path, u->ifname, moved);
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
	static struct mlb_state state, found, next;
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
	found = state;
	follow_links(&state, &found, out);
	if (repair_record(&pins, &found, &state, &next, err))
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
	/* A writer: it also removes what killed commands left (journal.h). */
	if (recover_lock(err))
		return -1;
	if (cgroup) {
		if (attachment_cgroup_id(cgroup, &ids[0], path, sizeof(path),
					 err)) {
			ret = -1;
			goto out;
		}
		n = loader_is_attached(ids[0]) ? 1 : 0;
		if (n == 0 && !recover_removed(ids[0])) {
			mlb_fail(err, "nothing is attached to cgroup %s", path);
			ret = ATTACHMENT_NONE;
		}
	} else {
		n = loader_list(ids, MAX_ATTACHMENTS);
		if (n == 0) {
			mlb_fail(err, "nothing is attached");
			ret = ATTACHMENT_NONE;
		}
	}
	for (unsigned i = 0; i < n && !ret; i++)
		ret = repair_one(ids[i], out, &incomplete, err);
out:
	mlb_unlock();
	if (ret)
		return ret;
	return incomplete ? MLB_INCONSISTENT : 0;
}
