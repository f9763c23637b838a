/* apply.c - make the attachments what a configuration file says (see
 * apply.h).
 *
 * First every policy is prepared (checked and resolved, nothing changed)
 * and compared with what is attached; then the changes are made, in
 * this order: detach what goes, then attach, re-attach or update each
 * policy in file order.  Each change first notes the record it changes;
 * when a later one fails, the noted records are put back, newest first,
 * so a failed apply leaves the attachments as they were.  The writers'
 * lock is held throughout, so a running watch's failover waits, and
 * then flips the slot table apply left (see watch.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "attach.h"
#include "attachment.h"
#include "cgroup.h"
#include "journal.h"
#include "loader.h"
#include "loader_capacity.h"
#include "netns.h"
#include "recover.h"
#include "route.h"
#include "slots.h"

#define MAX_ATTACHED 256

enum action {
	KEEP,		/* already as the file says */
	UPDATE,		/* weights, rules, sticky or probes, in place */
	REATTACH,	/* masquerade, record-sockets or lan changed */
	ATTACH,		/* nothing attached yet (or routing changed) */
};

struct policy_plan {
	const struct mlb_config_policy *policy;
	struct attach_request req;
	struct mlb_state want;
	bool attached;
	struct mlb_state have;
	enum action action;
	char changes[128];	/* UPDATE/REATTACH: what differs */
};

/* One change made, to undo if a later one fails: before is the record
 * the cgroup had (had_before), put back in place or by re-attaching. */
struct undo {
	uint64_t cgroup_id;
	char cgroup_path[256];
	bool had_before;
	bool in_place;
	struct mlb_state before;
};

/* An attachment routing in the file's namespace. */
struct attached {
	struct mlb_state state;
	bool in_file;
};

struct apply_run {
	const struct mlb_config_file *cf;
	const char *name;
	FILE *out;
	bool check;
	struct policy_plan *plans;
	unsigned nplans;
	struct attached *attached;
	unsigned nattached;
	uint64_t netns_inode;
	bool routing_changed;
	struct undo *undo;
	unsigned nundo;
};

/* ---- comparing what is attached with what the file says --------------- */

static bool same_gateways(const struct mlb_state_uplink *a,
			  const struct mlb_state_uplink *b)
{
	return a->gateway_given == b->gateway_given &&
	       (!a->gateway_given || a->gateway == b->gateway) &&
	       a->gateway6_given == b->gateway6_given &&
	       (!a->gateway6_given ||
		!memcmp(a->gateway6, b->gateway6, sizeof(a->gateway6)));
}

/* What all policies of a namespace share: uplinks, marks, tables, rules. */
static bool same_routing(const struct mlb_state *a, const struct mlb_state *b)
{
	if (a->nuplinks != b->nuplinks || a->mark_base != b->mark_base ||
	    a->mark_mask != b->mark_mask || a->table_base != b->table_base ||
	    a->priority != b->priority || a->last_resort != b->last_resort)
		return false;
	for (unsigned i = 0; i < a->nuplinks; i++) {
		const struct mlb_state_uplink *u = &a->uplinks[i];
		const struct mlb_state_uplink *v = &b->uplinks[i];

		if (strcmp(u->ifname, v->ifname) || u->mark != v->mark ||
		    u->table != v->table || !same_gateways(u, v))
			return false;
	}
	return true;
}

static bool same_probes(const struct mlb_state_uplink *a,
			const struct mlb_state_uplink *b)
{
	return a->nprobes == b->nprobes &&
	       !memcmp(a->probes, b->probes, sizeof(a->probes)) &&
	       a->probe_type == b->probe_type &&
	       a->probe_port == b->probe_port &&
	       a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && a->down == b->down &&
	       a->up == b->up;
}

static void note_change(char *buf, size_t len, const char *what)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", what);
}

/* What differs between have and want that can change in place; the
 * routing is the same. */
static void in_place_changes(const struct mlb_state *have,
			     const struct mlb_state *want, char *buf,
			     size_t len)
{
	bool weights = false, probes = false;

	for (unsigned i = 0; i < want->nuplinks; i++) {
		weights |= have->uplinks[i].weight != want->uplinks[i].weight;
		probes |= !same_probes(&have->uplinks[i], &want->uplinks[i]);
	}
	buf[0] = '\0';
	if (weights)
		note_change(buf, len, "weights");
	if (have->ndests != want->ndests ||
	    memcmp(have->dests, want->dests,
		   want->ndests * sizeof(want->dests[0])))
		note_change(buf, len, "destination rules");
	if (have->sticky_seconds != want->sticky_seconds)
		note_change(buf, len, "sticky");
	if (have->balance != want->balance)
		note_change(buf, len, "balance");
	if (mlb_floor_pct(have) != mlb_floor_pct(want))
		note_change(buf, len, "floor");
	if (have->fixed != want->fixed)
		note_change(buf, len, "adapt");
	if (probes)
		note_change(buf, len, "probe settings");
}

static bool same_lan(const struct mlb_state *a, const struct mlb_state *b)
{
	if (a->nlan != b->nlan)
		return false;
	for (unsigned i = 0; i < a->nlan; i++)
		if (strcmp(a->lan[i].ifname, b->lan[i].ifname))
			return false;
	return true;
}

static void decide(struct apply_run *run, struct policy_plan *pl)
{
	const struct mlb_state *have = &pl->have, *want = &pl->want;

	pl->changes[0] = '\0';
	if (!pl->attached || run->routing_changed) {
		pl->action = ATTACH;
		return;
	}
	if (have->masquerade != want->masquerade)
		note_change(pl->changes, sizeof(pl->changes), "masquerade");
	if (have->record_sockets != want->record_sockets)
		note_change(pl->changes, sizeof(pl->changes), "record-sockets");
	if (!same_lan(have, want))
		note_change(pl->changes, sizeof(pl->changes), "lan");
	if (pl->changes[0]) {
		pl->action = REATTACH;
		return;
	}
	in_place_changes(have, want, pl->changes, sizeof(pl->changes));
	pl->action = pl->changes[0] ? UPDATE : KEEP;
}

/* ---- preparing: nothing is changed here -------------------------------- */

static int policy_error(struct apply_run *run, const struct policy_plan *pl,
			struct mlb_err *err)
{
	return mlb_fail_prefix(err, "%s:%u: [policy %s]", run->name,
			       pl->policy->line, pl->policy->cgroup);
}

/* Every uplink of the file exists and has an address, in the file's
 * namespace: an error names the [uplink] section's line. */
static int check_uplinks(struct apply_run *run, struct mlb_err *err)
{
	const struct mlb_config_file *cf = run->cf;
	char path[256];
	int ret = 0;

	if (cf->netns[0]) {
		netns_resolve(cf->netns, path, sizeof(path));
		if (netns_enter(path, err))
			return mlb_fail_prefix(err, "%s", run->name);
	}
	for (unsigned i = 0; i < cf->nuplinks && !ret; i++) {
		struct mlb_link_info link;

		if (route_lookup_link(cf->uplinks[i].ifname, &link, err))
			ret = mlb_fail_prefix(err, "%s:%u: [uplink %s]",
					      run->name, cf->uplink_lines[i],
					      cf->uplinks[i].ifname);
	}
	netns_return_home(&(struct mlb_err){0});
	return ret;
}

static int prepare_policies(struct apply_run *run, struct mlb_err *err)
{
	for (unsigned p = 0; p < run->nplans; p++) {
		struct policy_plan *pl = &run->plans[p];

		pl->policy = &run->cf->policies[p];
		config_policy_request(run->cf, p, &pl->req);
		if (attachment_prepare(&pl->req, &pl->want, err))
			return policy_error(run, pl, err);
		for (unsigned q = 0; q < p; q++)
			if (run->plans[q].want.cgroup_id == pl->want.cgroup_id)
				return mlb_fail(err, "%s:%u: [policy %s] is the "
						"same cgroup as [policy %s] "
						"(line %u)", run->name,
						pl->policy->line,
						pl->policy->cgroup,
						run->plans[q].policy->cgroup,
						run->plans[q].policy->line);
	}
	return 0;
}

/* The inode of the namespace the file routes in. */
static int file_netns(struct apply_run *run, struct mlb_err *err)
{
	char path[256];

	if (run->nplans) {
		run->netns_inode = run->plans[0].want.netns_inode;
		return 0;
	}
	if (!run->cf->netns[0]) {
		run->netns_inode = netns_current_inode();
		return 0;
	}
	netns_resolve(run->cf->netns, path, sizeof(path));
	run->netns_inode = netns_inode_of(path);
	if (!run->netns_inode)
		return mlb_fail(err, "%s: network namespace \"%s\" does not "
				"exist", run->name, run->cf->netns);
	return 0;
}

/* Read every attachment that routes in the file's namespace, and match
 * each to its policy. */
static int read_attached(struct apply_run *run, struct mlb_err *err)
{
	uint64_t ids[MAX_ATTACHED];
	unsigned n = loader_list(ids, MAX_ATTACHED);

	for (unsigned k = 0; k < n; k++) {
		struct attached *a = &run->attached[run->nattached];

		if (attachment_read(ids[k], &a->state, err) < 0)
			return -1;
		if (a->state.netns_inode != run->netns_inode)
			continue;
		run->nattached++;
		for (unsigned p = 0; p < run->nplans; p++) {
			struct policy_plan *pl = &run->plans[p];

			if (pl->want.cgroup_id != a->state.cgroup_id)
				continue;
			pl->attached = true;
			pl->have = a->state;
			a->in_file = true;
		}
	}
	return 0;
}

/* The routing all policies share changes if any attachment here routes
 * otherwise than the file says. */
static void find_routing_change(struct apply_run *run)
{
	run->routing_changed = false;
	if (!run->nplans)
		return;
	for (unsigned k = 0; k < run->nattached; k++)
		if (!same_routing(&run->attached[k].state,
				  &run->plans[0].want))
			run->routing_changed = true;
}

/* ---- changing ------------------------------------------------------------ */

static void say(struct apply_run *run, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct apply_run *run, const char *fmt, ...)
{
	va_list ap;

	if (run->check)
		fputs("would ", run->out);
	va_start(ap, fmt);
	vfprintf(run->out, fmt, ap);
	va_end(ap);
	fputc('\n', run->out);
}

/* Note the change about to be made to the cgroup of pl or state. */
static void note_undo(struct apply_run *run, uint64_t cgroup_id,
		      const char *path, const struct mlb_state *before,
		      bool in_place)
{
	struct undo *u = &run->undo[run->nundo++];

	u->cgroup_id = cgroup_id;
	snprintf(u->cgroup_path, sizeof(u->cgroup_path), "%s", path);
	u->had_before = before != NULL;
	u->in_place = in_place;
	if (before)
		u->before = *before;
}

static int detach(struct apply_run *run, const struct mlb_state *state,
		  const char *why, struct mlb_err *err)
{
	int ret;

	say(run, "detach %s (%s)", state->cgroup_path, why);
	if (run->check)
		return 0;
	note_undo(run, state->cgroup_id, state->cgroup_path, state, false);
	if (journal_begin(state, 1, err))
		return -1;
	ret = attachment_remove(state, err);
	journal_end(state->cgroup_id);
	return ret ? mlb_fail_prefix(err, "detaching %s", state->cgroup_path) :
		     0;
}

/* Weights, probe settings, destination rules, sticky and the balancing
 * mode, without re-attaching: the record first (so a running watch takes
 * the new weights), then the rule trie and programs, the mode, then one
 * slot-table flip that leaves out the uplinks watch found down. */
static int update_to(const struct mlb_state *have,
		     const struct mlb_state *next, struct mlb_err *err)
{
	struct mlb_health health[MLB_MAX_UPLINKS];
	unsigned weights[MLB_MAX_UPLINKS + 1], adaptive[MLB_MAX_UPLINKS], live, n;
	char path[sizeof(next->cgroup_path)];
	const struct mlb_state records[2] = { *next, *have };
	struct mlb_pins pins;
	uint64_t id;
	int cgroup_fd, ret = -1;

	cgroup_fd = cgroup_open(next->cgroup_path, path, sizeof(path), &id,
				err);
	if (cgroup_fd < 0)
		return -1;
	if (loader_open(next->cgroup_id, &pins, err)) {
		close(cgroup_fd);
		return -1;
	}
	if (journal_begin(records, 2, err))
		goto out;
	/* the health watch last wrote, under the same lock as its flips */
	if (loader_write_state(&pins, next, err) ||
	    loader_set_destinations(&pins, next, cgroup_fd, err) ||
	    loader_set_balance(&pins, next, cgroup_fd, err) ||
	    loader_read_health(&pins, next->nuplinks, health, err))
		goto out_journal;
	/* adaptive: the weights watch measured stay in force */
	n = mlb_live_weights(next, health,
			     next->balance == MLB_BALANCE_ADAPTIVE &&
			     loader_capacity_weights(next->cgroup_id,
						     next->nuplinks, adaptive) ?
			     adaptive : NULL, weights, &live);
	ret = loader_set_weights(&pins, weights, n, err);
out_journal:
	journal_end(next->cgroup_id);
out:
	loader_close(&pins);
	close(cgroup_fd);
	return ret;
}

static int update_in_place(const struct policy_plan *pl, struct mlb_err *err)
{
	struct mlb_state next = pl->have;

	for (unsigned i = 0; i < next.nuplinks; i++) {
		struct mlb_state_uplink *u = &next.uplinks[i];
		const struct mlb_state_uplink *w = &pl->want.uplinks[i];

		u->weight = w->weight;
		memcpy(u->probes, w->probes, sizeof(u->probes));
		u->nprobes = w->nprobes;
		u->probe_type = w->probe_type;
		u->probe_port = w->probe_port;
		u->interval_ms = w->interval_ms;
		u->timeout_ms = w->timeout_ms;
		u->down = w->down;
		u->up = w->up;
	}
	next.ndests = pl->want.ndests;
	memcpy(next.dests, pl->want.dests, sizeof(next.dests));
	next.sticky_seconds = pl->want.sticky_seconds;
	next.balance = pl->want.balance;
	next.floor_pct = pl->want.floor_pct;
	next.fixed = pl->want.fixed;
	return update_to(&pl->have, &next, err);
}

static int carry_out(struct apply_run *run, struct policy_plan *pl,
		     struct mlb_err *err)
{
	const char *cg = pl->want.cgroup_path;
	int ret = 0;

	switch (pl->action) {
	case KEEP:
		fprintf(run->out, "unchanged %s\n", cg);
		return 0;
	case UPDATE:
		say(run, "update %s: %s", cg, pl->changes);
		if (run->check)
			break;
		/* a failed update may have changed part of it */
		note_undo(run, pl->want.cgroup_id, cg, &pl->have, true);
		ret = update_in_place(pl, err);
		break;
	case REATTACH:
	case ATTACH:
		say(run, pl->action == ATTACH ? "attach %s" :
		    "re-attach %s: %s", cg, pl->changes);
		if (run->check)
			break;
		/* a failed attach puts back what it replaced by itself */
		ret = attach_cgroup(&pl->req, err);
		if (ret == 0)
			note_undo(run, pl->want.cgroup_id, cg,
				  pl->attached && !run->routing_changed ?
				  &pl->have : NULL, false);
		break;
	}
	return ret ? policy_error(run, pl, err) : 0;
}

/* Put one change back: a record updated in place is written back; a
 * cgroup attached, re-attached or detached gets its record re-attached
 * as it was (or nothing, if it had none). */
static int undo_one(const struct undo *u, struct mlb_err *err)
{
	struct mlb_state now;
	int had = attachment_read(u->cgroup_id, &now, err);

	if (had < 0)
		return -1;
	if (u->in_place && had)
		return update_to(&now, &u->before, err);
	if (u->had_before)
		return attach_restore(&u->before, err);
	if (!had)
		return 0;
	return attach_detach(u->cgroup_path, false, err);
}

/* Undo every change made, newest first; err keeps the first failure and
 * says whether everything was put back. */
static void undo_all(struct apply_run *run, struct mlb_err *err)
{
	struct mlb_err undo_err;
	unsigned failed = 0;
	size_t n = strlen(err->msg);

	while (run->nundo > 0) {
		const struct undo *u = &run->undo[--run->nundo];

		if (undo_one(u, &undo_err) == 0) {
			fprintf(run->out, "put back %s as it was\n",
				u->cgroup_path);
			continue;
		}
		if (!failed++)
			snprintf(err->msg + n, sizeof(err->msg) - n,
				 "; putting back %s failed: %s", u->cgroup_path,
				 undo_err.msg);
	}
	if (!failed)
		snprintf(err->msg + n, sizeof(err->msg) - n,
			 " (everything put back as it was)");
}

static int carry_out_all(struct apply_run *run, struct mlb_err *err)
{
	for (unsigned k = 0; k < run->nattached; k++) {
		const struct attached *a = &run->attached[k];

		if (run->routing_changed &&
		    detach(run, &a->state, "the uplinks' routing changes", err))
			return -1;
		if (!run->routing_changed && !a->in_file &&
		    detach(run, &a->state, "not in the file", err))
			return -1;
	}
	for (unsigned p = 0; p < run->nplans; p++) {
		decide(run, &run->plans[p]);
		if (carry_out(run, &run->plans[p], err))
			return -1;
	}
	return 0;
}

static int carry_out_or_undo(struct apply_run *run, struct mlb_err *err)
{
	if (carry_out_all(run, err) == 0)
		return 0;
	undo_all(run, err);
	return -1;
}

int apply_config(const struct mlb_config_file *cf, const char *name,
		 bool check, FILE *out, struct mlb_err *err)
{
	struct apply_run run = {
		.cf = cf, .name = name, .out = out, .check = check,
		.nplans = cf->npolicies,
	};
	int ret = -1;

	if (netns_save_home(err) || (!check && recover_lock(err)))
		return -1;
	run.plans = calloc(cf->npolicies ? cf->npolicies : 1,
			   sizeof(*run.plans));
	run.attached = calloc(MAX_ATTACHED, sizeof(*run.attached));
	run.undo = calloc(MAX_ATTACHED + cf->npolicies, sizeof(*run.undo));
	if (!run.plans || !run.attached || !run.undo) {
		mlb_fail(err, "out of memory");
		goto out;
	}
	/* Whatever stops the file from being applied as written is found
	 * here, before anything changes: it is the file's fault. */
	if (check_uplinks(&run, err) || prepare_policies(&run, err) ||
	    file_netns(&run, err)) {
		ret = ATTACHMENT_BAD_INPUT;
		goto out;
	}
	if (read_attached(&run, err))
		goto out;
	find_routing_change(&run);
	ret = carry_out_or_undo(&run, err);
	if (ret == 0 && check)
		fprintf(out, "%s: valid: %u uplinks, %u policies\n", name,
			cf->nuplinks, cf->npolicies);
out:
	free(run.plans);
	free(run.attached);
	free(run.undo);
	if (!check)
		mlb_unlock();
	return ret;
}

int apply_file(const char *path, bool check, FILE *out, struct mlb_err *err)
{
	struct mlb_config_file *cf = calloc(1, sizeof(*cf));
	int ret;

	if (!cf)
		return mlb_fail(err, "out of memory");
	if (config_parse_file(path, cf, err))
		ret = ATTACHMENT_BAD_INPUT;
	else
		ret = apply_config(cf, path, check, out, err);
	free(cf);
	return ret;
}
