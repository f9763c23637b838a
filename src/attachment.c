/* attachment.c - one attachment's record checked, resolved, set up in
 * the kernel and removed from it (see attachment.h).  No lock and no
 * journal here: attach.c, above, takes the one and writes the other.
 */
#include <errno.h>
#include <inttypes.h>
#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attachment.h"
#include "cgroup.h"
#include "forward.h"
#include "kernel_features.h"
#include "lan.h"
#include "loader.h"
#include "nat.h"
#include "netns.h"
#include "route.h"
#include "route_reconcile.h"

/* Enter the namespace whose rules the state describes.  Returns 1 if that
 * namespace no longer exists (its rules and tables went with it). */
int attachment_enter_netns(const struct mlb_state *state,
			   struct mlb_err *err)
{
	if (state->netns_path[0]) {
		if (netns_inode_of(state->netns_path) != state->netns_inode)
			return 1;
		return netns_enter(state->netns_path, err);
	}
	if (netns_return_home(err))
		return -1;
	/* made from inside a namespace (nsenter) that is gone since */
	if (netns_current_inode() != state->netns_inode &&
	    !netns_inode_alive(state->netns_inode))
		return 1;
	if (netns_current_inode() != state->netns_inode)
		return mlb_fail(err, "cgroup %s was attached from another "
				"network namespace (net:[%" PRIu64 "]); run "
				"mlb-bpf there", state->cgroup_path,
				(uint64_t)state->netns_inode);
	return 0;
}

/* Two attachments share their routing (uplink tables and rules) when they
 * route in the same namespace with the same marks, tables, priorities and
 * last resort: policies of different cgroups over one set of uplinks. */
bool attachment_same_routing(const struct mlb_state *a,
			      const struct mlb_state *b)
{
	/* the path too: a namespace's inode number is reused once it is
	 * gone, and a record may outlive its namespace */
	return a->cgroup_id != b->cgroup_id &&
	       a->netns_inode == b->netns_inode &&
	       !strcmp(a->netns_path, b->netns_path) &&
	       a->mark_base == b->mark_base && a->mark_mask == b->mark_mask &&
	       a->table_base == b->table_base && a->priority == b->priority;
}

/* Another pinned attachment whose routing state's routing would share;
 * returns 1 and fills peer if there is one. */
static int find_routing_peer(const struct mlb_state *state,
			     struct mlb_state *peer)
{
	uint64_t ids[256];
	unsigned n = loader_list(ids, 256);

	for (unsigned i = 0; i < n; i++) {
		struct mlb_err ignored;

		if (ids[i] != state->cgroup_id &&
		    loader_read_record(ids[i], peer, &ignored) == 0 &&
		    attachment_same_routing(state, peer))
			return 1;
	}
	return 0;
}

/* What the shared routing knows of an uplink: its addresses, gateways,
 * mark and table, as the peer installed them. */
static void copy_routing(struct mlb_state_uplink *u,
			 const struct mlb_state_uplink *peer)
{
	mlb_uplink_copy_link(u, peer);
	u->mark = peer->mark;
	u->table = peer->table;
}

/* This policy rides on peer's routing: its uplinks become peer's, in
 * peer's order with peer's marks and tables, weighted as this policy
 * asks (0 for the ones it does not use). */
static int share_routing(struct mlb_state *state, const struct mlb_state *peer,
			 struct mlb_err *err)
{
	struct mlb_state mine = *state;

	if (peer->last_resort != state->last_resort)
		return mlb_fail(err, "cgroup %s already routes this namespace "
				"with another --last-resort; use the same, or "
				"another --table-base", peer->cgroup_path);
	for (unsigned i = 0; i < mine.nuplinks; i++) {
		unsigned j;

		for (j = 0; j < peer->nuplinks; j++)
			if (!strcmp(peer->uplinks[j].ifname,
				    mine.uplinks[i].ifname))
				break;
		if (j == peer->nuplinks)
			return mlb_fail(err, "uplink \"%s\" is not among the "
					"uplinks cgroup %s routes in this "
					"namespace; add it there, or use "
					"another --table-base",
					mine.uplinks[i].ifname,
					peer->cgroup_path);
	}
	state->nuplinks = peer->nuplinks;
	state->unreachable_mark = peer->unreachable_mark;
	state->unreachable_table = peer->unreachable_table;
	for (unsigned j = 0; j < peer->nuplinks; j++) {
		struct mlb_state_uplink *u = &state->uplinks[j];

		*u = peer->uplinks[j];
		u->weight = 0;
		for (unsigned i = 0; i < mine.nuplinks; i++)
			if (!strcmp(u->ifname, mine.uplinks[i].ifname)) {
				*u = mine.uplinks[i];
				copy_routing(u, &peer->uplinks[j]);
			}
	}
	/* pin rules name uplinks by index: move them to peer's order */
	for (unsigned d = 0; d < state->ndests; d++)
		if (state->dests[d].action == MLB_DEST_PIN)
			for (unsigned j = 0; j < state->nuplinks; j++)
				if (!strcmp(state->uplinks[j].ifname,
					    mine.uplinks[state->dests[d].uplink].ifname))
					state->dests[d].uplink = j;
	return 0;
}

/* Routing, NAT, then BPF; undo in reverse on failure.  A policy sharing
 * another's routing adds none of its own, but records it as installed:
 * whichever sharer goes last removes it. */
static int apply(struct mlb_state *state, bool shared, int cgroup_fd,
		 struct mlb_err *err)
{
	struct mlb_err ignored;

	state->installed = 0;
	if (shared)
		state->installed |= MLB_INSTALLED_ROUTES | MLB_INSTALLED_RULES;
	else if (route_install(state, err))
		return mlb_fail_prefix(err, "routing");
	if (nat_wanted(state) && nat_install(state, err)) {
		mlb_fail_prefix(err, "masquerade");
		if (!shared)
			route_remove(state, &ignored);
		return -1;
	}
	/* after the table: it has loaded nf_conntrack, if a module */
	if (state->nlan && lan_check_kernel(err)) {
		nat_remove(state, &ignored);
		if (!shared)
			route_remove(state, &ignored);
		return -1;
	}
	if (forward_prepare(state, err) ||
	    loader_attach(state, cgroup_fd, err)) {
		if (state->tc_mode)
			mlb_fail_prefix(err, "BPF");
		nat_remove(state, &ignored);
		if (!shared)
			route_remove(state, &ignored);
		return -1;
	}
	if (forward_attach(state, err)) {
		loader_remove(state->cgroup_id, &ignored);
		nat_remove(state, &ignored);
		if (!shared)
			route_remove(state, &ignored);
		return -1;
	}
	return 0;
}

int attachment_remove(const struct mlb_state *state, struct mlb_err *err)
{
	int gone = attachment_enter_netns(state, err);

	if (gone < 0)
		return -1;
	if (!gone) {
		struct mlb_state peer;

		if (forward_detach(state, err))
			return mlb_fail_prefix(err, "tc programs");
		if (nat_remove(state, err))
			return mlb_fail_prefix(err, "masquerade");
		/* shared routing stays while another policy uses it */
		if (!find_routing_peer(state, &peer) &&
		    route_remove(state, err))
			return mlb_fail_prefix(err, "routing");
	}
	if (netns_return_home(err))
		return -1;
	return loader_remove(state->cgroup_id, err);
}

int attachment_cgroup_id(const char *cgroup, uint64_t *id, char *path,
			 size_t len, struct mlb_err *err)
{
	char mount[PATH_MAX];
	int fd;

	if (!cgroup) {
		if (cgroup_find_mount(mount, sizeof(mount), err))
			return -1;
		cgroup = mount;
	}
	fd = cgroup_open(cgroup, path, len, id, err);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* The uplink's probe settings, as given (0: watch's defaults). */
static void copy_health_settings(const struct mlb_uplink_spec *spec,
				 struct mlb_state_uplink *u)
{
	u->gateway_given = spec->has_gateway;
	u->gateway6_given = spec->has_gateway6;
	u->nprobes = spec->nprobes;
	for (unsigned p = 0; p < spec->nprobes; p++)
		u->probes[p] = spec->probes[p].s_addr;
	u->probe_type = spec->probe_type;
	u->probe_port = spec->probe_port;
	u->interval_ms = spec->interval_ms;
	u->timeout_ms = spec->timeout_ms;
	u->down = spec->down;
	u->up = spec->up;
}

/* --bypass and --pin rules; a pin must name one of the uplinks. */
static int copy_dest_rules(const struct attach_request *req,
			   struct mlb_state *state, struct mlb_err *err)
{
	for (unsigned d = 0; d < req->ndests; d++) {
		const struct mlb_dest_spec *spec = &req->dests[d];
		struct mlb_state_dest *dest = &state->dests[d];

		dest->family = (__u32)spec->family;
		memcpy(dest->addr, spec->addr, sizeof(dest->addr));
		dest->prefixlen = spec->prefixlen;
		dest->action = spec->action;
		if (spec->action != MLB_DEST_PIN)
			continue;
		for (dest->uplink = 0; dest->uplink < req->nuplinks;
		     dest->uplink++)
			if (!strcmp(req->uplinks[dest->uplink].ifname,
				    spec->ifname))
				break;
		if (dest->uplink == req->nuplinks)
			return mlb_fail(err, "--pin: \"%s\" is not one of the "
					"uplinks", spec->ifname);
	}
	state->ndests = req->ndests;
	return 0;
}

/* --lan interfaces: each once, none an uplink. */
static int copy_lan(const struct attach_request *req, struct mlb_state *state,
		    struct mlb_err *err)
{
	if (req->nlan > MLB_MAX_LAN)
		return mlb_fail(err, "at most %d --lan interfaces",
				MLB_MAX_LAN);
	for (unsigned i = 0; i < req->nlan; i++) {
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(req->lan[i], req->lan[j]))
				return mlb_fail(err, "--lan \"%s\" is given "
						"twice", req->lan[i]);
		for (unsigned u = 0; u < req->nuplinks; u++)
			if (!strcmp(req->lan[i], req->uplinks[u].ifname))
				return mlb_fail(err, "--lan \"%s\" is also an "
						"uplink", req->lan[i]);
		snprintf(state->lan[i].ifname, sizeof(state->lan[i].ifname),
			 "%s", req->lan[i]);
	}
	state->nlan = req->nlan;
	return 0;
}

/* Everything that needs no kernel state: numbers, marks, tables. */
static int validate_request(const struct attach_request *req,
			    struct mlb_state *state, struct mlb_err *err)
{
	uint32_t marks[MLB_MAX_UPLINKS + 1], tables[MLB_MAX_UPLINKS + 1];

	if (req->nuplinks == 0)
		return mlb_fail(err, "no uplinks: give --uplink IFACE at "
				"least once");
	if (req->nuplinks > MLB_MAX_UPLINKS)
		return mlb_fail(err, "%u uplinks given, at most %d are "
				"supported", req->nuplinks, MLB_MAX_UPLINKS);
	/* last-resort=unreachable takes one more mark and table. */
	unsigned nmarks = req->nuplinks +
		(req->last_resort == MLB_LAST_RESORT_UNREACHABLE);

	if (req->nuplinks == MLB_MAX_UPLINKS && nmarks > req->nuplinks)
		return mlb_fail(err, "--last-resort unreachable needs a mark "
				"of its own: at most %d uplinks with it",
				MLB_MAX_UPLINKS - 1);
	if (mlb_check_duplicates(req->uplinks, req->nuplinks, err) ||
	    mlb_assign_marks(req->mark_base, req->mark_mask, nmarks, marks,
			     err) ||
	    mlb_assign_tables(req->table_base, nmarks, tables, err) ||
	    mlb_check_priority(req->priority, err))
		return -1;

	memset(state, 0, sizeof(*state));
	state->version = MLB_STATE_VERSION;
	snprintf(state->made_by, sizeof(state->made_by), "%s", MLB_VERSION);
	state->nuplinks = req->nuplinks;
	state->mark_base = req->mark_base;
	state->mark_mask = req->mark_mask;
	state->table_base = req->table_base;
	state->priority = req->priority;
	state->masquerade = req->masquerade;
	state->record_sockets = req->record_sockets;
	if (copy_dest_rules(req, state, err))
		return -1;
	state->sticky_seconds = req->sticky_seconds;
	state->balance = req->balance;
	state->floor_pct = req->floor_pct;
	if (copy_lan(req, state, err))
		return -1;
	state->last_resort = req->last_resort;
	if (nmarks > req->nuplinks) {
		state->unreachable_mark = marks[req->nuplinks];
		state->unreachable_table = tables[req->nuplinks];
	}
	state->attached_at = (uint64_t)time(NULL);
	for (unsigned i = 0; i < req->nuplinks; i++) {
		struct mlb_state_uplink *u = &state->uplinks[i];

		snprintf(u->ifname, sizeof(u->ifname), "%s",
			 req->uplinks[i].ifname);
		u->weight = req->uplinks[i].weight;
		if (req->uplinks[i].fixed)
			state->fixed |= 1ULL << i;
		u->mark = marks[i];
		u->table = tables[i];
		copy_health_settings(&req->uplinks[i], u);
	}
	return 0;
}

/* Interface index, addresses and gateways of one uplink, looked up in
 * the namespace the routing goes to.  A given gateway wins over the main
 * table's.  The uplink carries IPv4 if it has an IPv4 address and
 * gateway, IPv6 if it has a global IPv6 address (a default route only
 * with an IPv6 gateway); it needs a gateway of one family at least. */
static int resolve_uplink(const struct mlb_uplink_spec *spec,
			  struct mlb_state_uplink *u, struct mlb_err *err)
{
	struct mlb_link_info link;
	bool ipv4, gateway6;

	if (route_lookup_link(spec->ifname, &link, err))
		return -1;
	if (spec->has_gateway && !link.has_addr4)
		return mlb_fail(err, "uplink \"%s\": gateway= is given but "
				"the interface has no IPv4 address",
				spec->ifname);
	if (spec->has_gateway6 && !link.has_addr6)
		return mlb_fail(err, "uplink \"%s\": gateway6= is given but "
				"the interface has no global IPv6 address",
				spec->ifname);
	ipv4 = link.has_addr4 && (spec->has_gateway || link.has_gateway);
	gateway6 = link.has_addr6 && (spec->has_gateway6 || link.has_gateway6);
	if (!ipv4 && !gateway6)
		return mlb_fail(err, "uplink \"%s\": the main table has no "
				"default route via %s; give gateway=ADDR or "
				"gateway6=ADDR6", spec->ifname, spec->ifname);
	u->ifindex = (uint32_t)link.ifindex;
	if (ipv4) {
		u->addr = link.addr.s_addr;
		u->prefixlen = link.prefixlen;
		u->gateway = spec->has_gateway ? spec->gateway.s_addr :
						 link.gateway.s_addr;
	}
	if (link.has_addr6) {
		memcpy(u->addr6, &link.addr6, sizeof(u->addr6));
		u->prefixlen6 = link.prefixlen6;
		memcpy(u->gateway6, spec->has_gateway6 ? &spec->gateway6 :
		       &link.gateway6, sizeof(u->gateway6));
	}
	return 0;
}

static int resolve_uplinks(const struct attach_request *req,
			   struct mlb_state *state, struct mlb_err *err)
{
	for (unsigned i = 0; i < state->nuplinks; i++)
		if (resolve_uplink(&req->uplinks[i], &state->uplinks[i], err))
			return -1;
	return lan_resolve(state, err) || lan_check_forwarding(state, err) ?
	       -1 : 0;
}

int attachment_read(uint64_t cgroup_id, struct mlb_state *old,
		    struct mlb_err *err)
{
	if (!loader_is_attached(cgroup_id))
		return 0;
	return loader_read_record(cgroup_id, old, err) ? -1 : 1;
}

/* Enter the request's namespace (or stay home) and record which it is. */
static int enter_request_netns(const struct attach_request *req,
			       struct mlb_state *state, struct mlb_err *err)
{
	if (netns_return_home(err))
		return -1;
	if (req->netns) {
		netns_resolve(req->netns, state->netns_path,
			      sizeof(state->netns_path));
		if (netns_enter(state->netns_path, err))
			return -1;
	}
	state->netns_inode = netns_current_inode();
	return 0;
}

/* Checks that need the target namespace: our tables and nft table are
 * free (a replaced attachment has been removed by now). */
static int check_free(const struct mlb_state *state, struct mlb_err *err)
{
	if (route_check_free(state, err))
		return -1;
	return nat_check_free(state, err);
}

/* In the target namespace: share the routing another policy set up with
 * the same marks and tables, or check that ours is free; then apply. */
static int set_up(struct mlb_state *state, int cgroup_fd, struct mlb_err *err)
{
	struct mlb_state peer;
	bool shared = find_routing_peer(state, &peer) == 1;

	if (shared ? share_routing(state, &peer, err) : check_free(state, err))
		return -1;
	return apply(state, shared, cgroup_fd, err);
}

int attachment_check_request(const struct attach_request *req,
			     struct mlb_state *state, struct mlb_err *err)
{
	return validate_request(req, state, err);
}

int attachment_resolve(const struct attach_request *req,
		       struct mlb_state *state, struct mlb_err *err)
{
	return enter_request_netns(req, state, err) ||
	       resolve_uplinks(req, state, err) ? -1 : 0;
}

int attachment_set_up(const struct attach_request *req,
		      struct mlb_state *state, int cgroup_fd,
		      struct mlb_err *err)
{
	return enter_request_netns(req, state, err) ||
	       set_up(state, cgroup_fd, err) ? -1 : 0;
}

int attachment_reapply(struct mlb_state *state, int cgroup_fd,
		       struct mlb_err *err)
{
	struct mlb_state peer;

	if (attachment_enter_netns(state, err) != 0)
		return -1;
	return apply(state, find_routing_peer(state, &peer) == 1, cgroup_fd,
		     err);
}

void attachment_put_back(struct mlb_state *old, int cgroup_fd,
			 struct mlb_err *err)
{
	struct mlb_err restore_err;

	if (attachment_reapply(old, cgroup_fd, &restore_err) == 0) {
		size_t n = strlen(err->msg);

		snprintf(err->msg + n, sizeof(err->msg) - n,
			 " (previous attachment restored)");
		return;
	}
	mlb_fail_prefix(err, "previous attachment lost (%s)",
			restore_err.msg);
}

int attachment_prepare(const struct attach_request *req,
		       struct mlb_state *state, struct mlb_err *err)
{
	uint64_t id;
	int ret;

	if (validate_request(req, state, err))
		return ATTACHMENT_BAD_INPUT;
	if (features_check_state(state, err) || netns_save_home(err) ||
	    attachment_cgroup_id(req->cgroup, &id, state->cgroup_path,
				 sizeof(state->cgroup_path), err))
		return -1;
	state->cgroup_id = id;
	nat_table_name(id, state->nft_table, sizeof(state->nft_table));
	ret = attachment_resolve(req, state, err);
	netns_return_home(&(struct mlb_err){0});
	return ret;
}
