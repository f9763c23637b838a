/* status.c - text and JSON views of the pinned attachments (see
 * status.h). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attachment.h"
#include "audit.h"
#include "capacity.h"
#include "containers_veth.h"
#include "journal.h"
#include "json.h"
#include "lan.h"
#include "loader.h"
#include "loader_capacity.h"
#include "lock.h"
#include "repair.h"
#include "status.h"
#include "tc.h"

#define MAX_ATTACHMENTS 256
#define MAX_PROBLEMS 64

/* Everything shown for one attachment. */
struct view {
	struct mlb_state state;
	struct mlb_prog_info prog;
	uint64_t counts[MLB_MAX_UPLINKS + 1];	/* + the unreachable mark's */
	struct mlb_health health[MLB_MAX_UPLINKS];
	uint64_t live[MLB_MAX_UPLINKS];		/* live connections */
	struct mlb_capacity capacity[MLB_MAX_UPLINKS];	/* adaptive */
	uint64_t total;
	struct lan_counts lan;
	bool cgroup_exists;
	enum audit_link link;
	/* The kernel's routing compared with the record. */
	bool checked;
	struct route_check check;
	char check_error[sizeof(((struct mlb_err *)0)->msg)];
	/* Container veths with the program (none if unreadable). */
	struct container_view *veths;
	unsigned nveths;
};

/* Something status found inconsistent, and what repairs it. */
struct problem {
	uint64_t cgroup_id;
	char cgroup[256];
	char what[200];
	char fix[340];
};

static struct problem problems[MAX_PROBLEMS];
static unsigned nproblems;

static void add_problem(uint64_t id, const char *cgroup, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_problem(uint64_t id, const char *cgroup, const char *fmt, ...)
{
	struct problem *p;
	va_list ap;

	if (nproblems >= MAX_PROBLEMS)
		return;
	p = &problems[nproblems++];
	p->cgroup_id = id;
	snprintf(p->cgroup, sizeof(p->cgroup), "%s", cgroup);
	va_start(ap, fmt);
	vsnprintf(p->what, sizeof(p->what), fmt, ap);
	va_end(ap);
	if (cgroup[0])
		snprintf(p->fix, sizeof(p->fix), "mlb-bpf detach --cgroup %s",
			 cgroup);
	else
		snprintf(p->fix, sizeof(p->fix), "mlb-bpf detach --cgroup "
			 "PATH (the cgroup whose id is %" PRIu64 ")", id);
}

/* Damaged routing is mended in place, not by detaching. */
static void add_routing_problem(const struct mlb_state *s, const char *what)
{
	add_problem(s->cgroup_id, s->cgroup_path, "routing damaged: %s", what);
	if (nproblems > 0 && problems[nproblems - 1].cgroup_id == s->cgroup_id)
		snprintf(problems[nproblems - 1].fix,
			 sizeof(problems[nproblems - 1].fix),
			 "mlb-bpf repair --cgroup %s (or keep mlb-bpf watch "
			 "running)", s->cgroup_path);
}

static int read_view(uint64_t id, struct view *v, struct mlb_err *err)
{
	struct mlb_pins pins;
	int ret;

	memset(v, 0, sizeof(*v));
	if (loader_open(id, &pins, err)) {
		/* the record alone: shown, and reported below */
		if (loader_read_record(id, &v->state, err))
			return -1;
		v->link = AUDIT_LINK_MISSING;
		v->cgroup_exists = access(v->state.cgroup_path, F_OK) == 0;
		return 0;
	}
	ret = loader_read_attachment(&pins, &v->state, v->counts, v->health,
				     &v->prog, err) ||
	      loader_read_conns(&pins, v->state.nuplinks, v->live, err) ||
	      loader_capacity_view(id, v->state.nuplinks, v->capacity, err);
	loader_close(&pins);
	if (ret)
		return -1;
	v->link = audit_record_link(id);
	if (containers_read(id, &v->veths, &v->nveths, err))
		v->nveths = 0;	/* an attachment's other parts still show */
	for (unsigned i = 0; i < v->state.nuplinks; i++)
		v->total += v->counts[i];
	if (v->state.nlan &&
	    lan_read_counts(id, v->state.nuplinks, &v->lan, err))
		return -1;
	v->cgroup_exists = access(v->state.cgroup_path, F_OK) == 0;
	if (repair_check(&v->state, &v->check, err) < 0)
		snprintf(v->check_error, sizeof(v->check_error), "%s",
			 err->msg);
	else
		v->checked = true;
	return 0;
}

static bool damaged(const struct view *v)
{
	return v->checked && !route_complete(&v->state, &v->check);
}

/* The routing check: one line when complete, else one per damaged part
 * and what to run. */
static void print_routing(const struct view *v)
{
	const struct mlb_state *s = &v->state;

	if (!v->checked) {
		printf("  routing     not checked: %s\n", v->check_error);
		return;
	}
	if (!damaged(v)) {
		printf("  routing     complete (tables and rules as recorded)\n");
		return;
	}
	printf("  routing     DAMAGED: the kernel does not hold what the "
	       "record says\n");
	for (unsigned i = 0; i < s->nuplinks; i++)
		if (!route_uplink_complete(&v->check, i, AF_UNSPEC))
			printf("    uplink %s, table %u: %s\n",
			       s->uplinks[i].ifname, s->uplinks[i].table,
			       v->check.up[i].problem);
	if (v->check.shared.missing[0] || v->check.shared.missing[1])
		printf("    rules: %s\n", v->check.shared.problem);
	printf("    %s\n", REPAIR_HINT);
}

static const char *health_word(__u32 state)
{
	switch (state) {
	case MLB_HEALTH_UP: return "up";
	case MLB_HEALTH_DOWN: return "down";
	default: return "unknown";
	}
}

/* The uplink's address of a family, "" if it has none (buf holds
 * INET6_ADDRSTRLEN). */
static const char *address(const struct mlb_state_uplink *u, int family,
			   char *buf)
{
	if (family == AF_INET6)
		return mlb_addr_is_none(u->addr6) ? "" :
			inet_ntop(AF_INET6, u->addr6, buf, INET6_ADDRSTRLEN);
	return u->addr ? inet_ntop(AF_INET, &u->addr, buf, INET6_ADDRSTRLEN) :
			 "";
}

/* Its gateway of a family, "" if it has none.  An IPv4 gateway of
 * 0.0.0.0 (a point-to-point default) is shown as such. */
static const char *gateway(const struct mlb_state_uplink *u, int family,
			   char *buf)
{
	if (family == AF_INET6)
		return mlb_addr_is_none(u->gateway6) ? "" :
			inet_ntop(AF_INET6, u->gateway6, buf,
				  INET6_ADDRSTRLEN);
	return u->addr ? inet_ntop(AF_INET, &u->gateway, buf,
				   INET6_ADDRSTRLEN) : "";
}

/* "ADDR/LEN" of the uplink's address of a family, "-" if none. */
static const char *cidr(const struct mlb_state_uplink *u, int family,
			char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (!*address(u, family, addr))
		return "-";
	snprintf(buf, len, "%s/%u", addr,
		 family == AF_INET6 ? u->prefixlen6 : u->prefixlen);
	return buf;
}

/* An empty string shown as "-" in the text view. */
static const char *dash(const char *s)
{
	return *s ? s : "-";
}

/* "ADDR/LEN" of a destination rule, either family. */
static const char *dest_prefix(const struct mlb_state_dest *r, char *buf,
			       size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(r->family == AF_INET6 ? AF_INET6 : AF_INET, r->addr, addr,
		  sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, r->prefixlen);
	return buf;
}

/* The tc mode and one line per container veth: its peer's namespace id
 * and the connections its container started per uplink. */
static void print_containers(const struct view *v)
{
	const struct mlb_state *s = &v->state;

	printf("  tc          %s, %u container veth%s\n",
	       tc_mode_name(s->tc_mode), v->nveths, v->nveths == 1 ? "" : "s");
	for (unsigned c = 0; c < v->nveths; c++) {
		const struct container_view *cv = &v->veths[c];

		printf("  container   %s (peer netns id %d):", cv->ifname,
		       cv->netnsid);
		for (unsigned i = 0; i < s->nuplinks; i++)
			printf("%s %s %" PRIu64, i ? "," : "",
			       s->uplinks[i].ifname, cv->counts[i]);
		if (cv->counts[s->nuplinks])
			printf(", last resort %" PRIu64,
			       cv->counts[s->nuplinks]);
		printf("\n");
	}
}

/* The --lan interfaces and the new flows each uplink got, on one line,
 * and the program's cost per packet on the next if it is measured. */
static void print_lan(const struct view *v)
{
	const struct mlb_state *s = &v->state;

	if (!s->nlan)
		return;
	printf("  lan         ");
	for (unsigned i = 0; i < s->nlan; i++)
		printf("%s%s", i ? ", " : "", s->lan[i].ifname);
	printf(" (%s): new flows", tc_mode_name(s->tc_mode));
	for (unsigned i = 0; i < s->nuplinks; i++)
		printf("%s %s %" PRIu64, i ? "," : "", s->uplinks[i].ifname,
		       v->lan.flows[i]);
	printf("\n");
	if (v->lan.run_cnt)
		printf("              %.0f ns per packet over %" PRIu64
		       " packets\n", (double)v->lan.run_time_ns /
		       (double)v->lan.run_cnt, v->lan.run_cnt);
}

/* --balance adaptive: what watch measured of each uplink, and the
 * weight it put in force and why. */
static void print_capacity(const struct view *v)
{
	const struct mlb_state *s = &v->state;

	printf("  adaptive    floor %u%% of the largest weight\n",
	       mlb_floor_pct(s));
	printf("  %-15s %-14s %-14s %-9s %-7s %s\n", "UPLINK", "CAPACITY",
	       "LAST SAMPLE", "RTT", "WEIGHT", "WHY");
	for (unsigned i = 0; i < s->nuplinks; i++) {
		const struct mlb_capacity *c = &v->capacity[i];
		char cap[32] = "-", sample[32] = "-", rtt[16] = "-";

		if (c->bps)
			capacity_rate_text(c->bps, cap, sizeof(cap));
		if (c->sampled_us)
			capacity_rate_text(c->sample_bps, sample,
					    sizeof(sample));
		if (v->health[i].rtt_us)
			snprintf(rtt, sizeof(rtt), "%.1f ms",
				 v->health[i].rtt_us / 1000.0);
		printf("  %-15s %-14s %-14s %-9s %-7u %s\n",
		       s->uplinks[i].ifname, cap, sample, rtt,
		       c->why ? c->weight : s->uplinks[i].weight,
		       c->why ? capacity_why_name(c->why) :
		       "given weight (no watch has measured yet)");
	}
}

/* The balancing mode, and the live connections per uplink that
 * least-conn counts (also while a switch back to rr drains them). */
static void print_balance(const struct view *v)
{
	const struct mlb_state *s = &v->state;
	bool counted = mlb_balance_counts_conns(s->balance);

	for (unsigned i = 0; i < s->nuplinks; i++)
		counted |= v->live[i] != 0;
	printf("  balance     %s", mlb_balance_name(s->balance));
	if (counted) {
		printf(": live connections");
		for (unsigned i = 0; i < s->nuplinks; i++)
			printf("%s %s %" PRIu64, i ? "," : "",
			       s->uplinks[i].ifname, v->live[i]);
	}
	printf("\n");
	if (s->balance == MLB_BALANCE_ADAPTIVE)
		print_capacity(v);
}

/* The release that attached: records before 0.2.0 do not say. */
static const char *made_by(const struct mlb_state *s)
{
	return s->made_by[0] ? s->made_by : "0.1.0 or earlier";
}

static void print_text(const struct view *v)
{
	const struct mlb_state *s = &v->state;
	char when[64], gw[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN + 8];
	time_t t = (time_t)s->attached_at;
	unsigned weight_sum = 0;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	for (unsigned i = 0; i < s->nuplinks; i++)
		weight_sum += s->uplinks[i].weight;

	printf("cgroup %s (id %" PRIu64 ")%s\n", s->cgroup_path,
	       (uint64_t)s->cgroup_id,
	       v->cgroup_exists ? "" : " [cgroup removed]");
	printf("  netns       %s\n",
	       s->netns_path[0] ? s->netns_path : "(this namespace)");
	printf("  made by     mlb-bpf %s\n", made_by(s));
	if (v->link == AUDIT_LINK_MISSING)
		printf("  program     none: the link pin is missing");
	else
		printf("  program     id %u, link id %u%s", v->prog.prog_id,
		       v->prog.link_id, v->link == AUDIT_LINK_DETACHED ?
		       " (not attached to the cgroup)" : "");
	if (v->prog.run_cnt)
		printf(", %.0f ns per socket over %" PRIu64 " runs",
		       (double)v->prog.run_time_ns / (double)v->prog.run_cnt,
		       v->prog.run_cnt);
	printf("\n  attached    %s\n", when);
	printf("  rules       priority %u-%u, mark mask 0x%x\n", s->priority,
	       s->priority + 3, s->mark_mask);
	if (s->masquerade)
		printf("  masquerade  nftables table inet %s\n", s->nft_table);
	else if (s->nlan)
		printf("  masquerade  LAN clients only, nftables table inet "
		       "%s\n", s->nft_table);
	else
		printf("  masquerade  off\n");
	if (s->nft_table[0])
		printf("  inbound     forwarded connections answered by the "
		       "uplink they came in on (nftables table inet %s, "
		       "with IP forwarding on)\n", s->nft_table);
	printf("  records     %s\n", s->record_sockets ?
	       "per-socket uplink records in map sk_uplink" : "off");
	for (unsigned d = 0; d < s->ndests; d++) {
		const struct mlb_state_dest *r = &s->dests[d];

		char prefix[INET6_ADDRSTRLEN + 8];

		printf("  destination %s %s%s\n",
		       dest_prefix(r, prefix, sizeof(prefix)),
		       r->action == MLB_DEST_PIN ?
		       "pinned to " : "bypasses balancing",
		       r->action == MLB_DEST_PIN && r->uplink < s->nuplinks ?
		       s->uplinks[r->uplink].ifname : "");
	}
	print_lan(v);
	print_balance(v);
	if (s->sticky_seconds)
		printf("  sticky      a destination keeps its uplink for %u s "
		       "after its last new connection\n", s->sticky_seconds);
	if (s->last_resort == MLB_LAST_RESORT_UNREACHABLE)
		printf("  last resort unreachable (mark 0x%x, table %u): %" PRIu64
		       " sockets\n", s->unreachable_mark, s->unreachable_table,
		       v->counts[s->nuplinks]);
	else
		printf("  last resort main table\n");
	printf("  %-15s %-10s %-6s %-7s %-15s %-18s %s\n", "UPLINK", "MARK",
	       "TABLE", "WEIGHT", "GATEWAY", "ADDRESS", "SOCKETS");
	for (unsigned i = 0; i < s->nuplinks; i++) {
		const struct mlb_state_uplink *u = &s->uplinks[i];
		char mark[16];

		snprintf(mark, sizeof(mark), "0x%x", u->mark);
		printf("  %-15s %-10s %-6u %-7u %-15s %-18s %" PRIu64,
		       u->ifname, mark, u->table, u->weight,
		       dash(gateway(u, AF_INET, gw)),
		       cidr(u, AF_INET, net, sizeof(net)), v->counts[i]);
		if (v->total)
			printf(" (%.1f%%, weight %.1f%%)",
			       100.0 * (double)v->counts[i] / (double)v->total,
			       100.0 * u->weight / weight_sum);
		printf("\n");
		/* IPv6 under the IPv4 gateway and address. */
		if (!mlb_addr_is_none(u->addr6))
			printf("  %-41s %-15s %s\n", "",
			       dash(gateway(u, AF_INET6, gw)),
			       cidr(u, AF_INET6, net, sizeof(net)));
	}
	printf("  total sockets %" PRIu64 "\n", v->total);
	printf("  %-15s %-8s %-21s %-26s %s\n", "UPLINK", "HEALTH", "SINCE",
	       "REASON", "LAST PROBE");
	for (unsigned i = 0; i < s->nuplinks; i++) {
		const struct mlb_health *h = &v->health[i];
		const struct mlb_state_uplink *u = &s->uplinks[i];
		char since[32] = "-", probe[48] = "none yet (watch running?)";
		time_t when = (time_t)h->since;

		if (h->since)
			strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S",
				 gmtime(&when));
		if (h->last_probe && mlb_uplink_judged_by_link(u))
			snprintf(probe, sizeof(probe), "none: judged by its link");
		else if (h->last_probe && h->last_ok)
			snprintf(probe, sizeof(probe), "answered, %.1f ms",
				 h->rtt_us / 1000.0);
		else if (h->last_probe)
			snprintf(probe, sizeof(probe), "failed (%u in a row)",
				 h->fails);
		printf("  %-15s %-8s %-21s %-26s %s\n", s->uplinks[i].ifname,
		       health_word(h->state), since,
		       h->reason[0] ? h->reason : "-", probe);
	}
	print_routing(v);
	print_containers(v);
}

/* "lan": its interfaces, how its program is attached, the new flows
 * (per uplink under each uplink, "lan_flows") and the program's cost. */
static void print_lan_json(struct json *j, const struct view *v)
{
	const struct mlb_state *s = &v->state;

	json_key(j, "lan");
	json_object_begin(j);
	json_key(j, "interfaces");
	json_array_begin(j);
	for (unsigned i = 0; i < s->nlan; i++)
		json_string(j, s->lan[i].ifname);
	json_array_end(j);
	json_kv_string(j, "tc_mode", s->nlan ? tc_mode_name(s->tc_mode) : "");
	json_kv_uint(j, "flows", v->lan.total);
	json_kv_uint(j, "run_time_ns", v->lan.run_time_ns);
	json_kv_uint(j, "run_cnt", v->lan.run_cnt);
	json_object_end(j);
}

static void print_json(struct json *j, const struct view *v)
{
	const struct mlb_state *s = &v->state;
	char buf[INET6_ADDRSTRLEN];

	json_object_begin(j);
	json_kv_string(j, "cgroup", s->cgroup_path);
	json_kv_uint(j, "cgroup_id", s->cgroup_id);
	json_kv_bool(j, "cgroup_exists", v->cgroup_exists);
	json_kv_string(j, "netns", s->netns_path);
	json_kv_uint(j, "netns_inode", s->netns_inode);
	json_kv_uint(j, "attached_at", s->attached_at);
	json_kv_string(j, "made_by", made_by(s));
	json_kv_uint(j, "prog_id", v->prog.prog_id);
	json_kv_uint(j, "link_id", v->prog.link_id);
	json_kv_bool(j, "program_attached", v->link == AUDIT_LINK_OK);
	json_kv_uint(j, "run_time_ns", v->prog.run_time_ns);
	json_kv_uint(j, "run_cnt", v->prog.run_cnt);
	json_kv_uint(j, "mark_base", s->mark_base);
	json_kv_uint(j, "mark_mask", s->mark_mask);
	json_kv_uint(j, "table_base", s->table_base);
	json_kv_uint(j, "priority", s->priority);
	json_kv_bool(j, "masquerade", s->masquerade);
	json_kv_bool(j, "record_sockets", s->record_sockets);
	json_kv_string(j, "nft_table", s->nft_table);
	json_kv_string(j, "last_resort",
		       s->last_resort == MLB_LAST_RESORT_UNREACHABLE ?
		       "unreachable" : "main");
	if (s->last_resort == MLB_LAST_RESORT_UNREACHABLE)
		json_kv_uint(j, "unreachable_sockets", v->counts[s->nuplinks]);
	json_kv_uint(j, "sockets", v->total);
	json_kv_uint(j, "sticky_seconds", s->sticky_seconds);
	json_kv_string(j, "balance", mlb_balance_name(s->balance));
	json_kv_uint(j, "floor_pct", mlb_floor_pct(s));
	print_lan_json(j, v);
	json_key(j, "routing");
	json_object_begin(j);
	json_kv_bool(j, "checked", v->checked);
	if (v->checked) {
		json_kv_bool(j, "complete", !damaged(v));
		json_kv_string(j, "rules_problem", v->check.shared.problem);
		json_kv_string(j, "hint", damaged(v) ? REPAIR_HINT : "");
	} else {
		json_kv_string(j, "error", v->check_error);
	}
	json_object_end(j);
	json_key(j, "destinations");
	json_array_begin(j);
	for (unsigned d = 0; d < s->ndests; d++) {
		const struct mlb_state_dest *r = &s->dests[d];
		char prefix[INET6_ADDRSTRLEN + 8];

		json_object_begin(j);
		json_kv_string(j, "prefix",
			       dest_prefix(r, prefix, sizeof(prefix)));
		json_kv_string(j, "action", r->action == MLB_DEST_PIN ?
			       "pin" : "bypass");
		if (r->action == MLB_DEST_PIN && r->uplink < s->nuplinks)
			json_kv_string(j, "uplink", s->uplinks[r->uplink].ifname);
		json_object_end(j);
	}
	json_array_end(j);
	json_kv_string(j, "tc_mode", tc_mode_name(s->tc_mode));
	json_key(j, "containers");
	json_array_begin(j);
	for (unsigned c = 0; c < v->nveths; c++) {
		const struct container_view *cv = &v->veths[c];

		json_object_begin(j);
		json_kv_string(j, "veth", cv->ifname);
		json_kv_uint(j, "ifindex", cv->ifindex);
		json_kv_uint(j, "peer_netnsid", (uint32_t)cv->netnsid);
		json_key(j, "connections");
		json_object_begin(j);
		for (unsigned i = 0; i < s->nuplinks; i++)
			json_kv_uint(j, s->uplinks[i].ifname, cv->counts[i]);
		json_object_end(j);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "uplinks");
	json_array_begin(j);
	for (unsigned i = 0; i < s->nuplinks; i++) {
		const struct mlb_state_uplink *u = &s->uplinks[i];

		json_object_begin(j);
		json_kv_string(j, "name", u->ifname);
		json_kv_uint(j, "ifindex", u->ifindex);
		json_kv_uint(j, "mark", u->mark);
		json_kv_uint(j, "table", u->table);
		json_kv_uint(j, "weight", u->weight);
		json_kv_string(j, "gateway", gateway(u, AF_INET, buf));
		json_kv_string(j, "address", address(u, AF_INET, buf));
		json_kv_uint(j, "prefixlen", u->prefixlen);
		json_kv_string(j, "gateway6", gateway(u, AF_INET6, buf));
		json_kv_string(j, "address6", address(u, AF_INET6, buf));
		json_kv_uint(j, "prefixlen6", u->prefixlen6);
		json_kv_uint(j, "sockets", v->counts[i]);
		json_kv_uint(j, "live_connections", v->live[i]);
		json_kv_bool(j, "adapt", !((s->fixed >> i) & 1));
		json_key(j, "capacity");
		json_object_begin(j);
		json_kv_uint(j, "bps", v->capacity[i].bps);
		json_kv_uint(j, "last_sample_bps", v->capacity[i].sample_bps);
		json_kv_uint(j, "weight", v->capacity[i].why ?
			     v->capacity[i].weight : u->weight);
		json_kv_string(j, "why", capacity_why_name(v->capacity[i].why));
		json_kv_uint(j, "changed", v->capacity[i].changed);
		json_object_end(j);
		json_kv_uint(j, "lan_flows", v->lan.flows[i]);
		json_key(j, "health");
		json_object_begin(j);
		json_kv_string(j, "state", health_word(v->health[i].state));
		json_kv_uint(j, "since", v->health[i].since);
		json_kv_string(j, "reason", v->health[i].reason);
		json_kv_uint(j, "last_probe", v->health[i].last_probe);
		json_kv_bool(j, "last_probe_ok", v->health[i].last_ok);
		json_kv_uint(j, "rtt_us", v->health[i].rtt_us);
		json_kv_uint(j, "failures_in_a_row", v->health[i].fails);
		json_kv_uint(j, "failovers", v->health[i].failovers);
		json_object_end(j);
		if (v->checked) {
			const struct route_uplink_check *c = &v->check.up[i];

			json_key(j, "routing");
			json_object_begin(j);
			json_kv_bool(j, "complete", route_uplink_complete(
					     &v->check, i, AF_UNSPEC));
			json_kv_uint(j, "missing", c->missing[0] +
				     c->missing[1]);
			json_kv_string(j, "problem", c->problem);
			json_object_end(j);
		}
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static void view_problems(const struct view *v)
{
	const struct mlb_state *s = &v->state;

	if (!v->cgroup_exists)
		add_problem(s->cgroup_id, s->cgroup_path, "the record's cgroup "
			    "is gone");
	else if (v->link == AUDIT_LINK_MISSING)
		add_problem(s->cgroup_id, s->cgroup_path, "a record without "
			    "its program: the link pin is missing");
	else if (v->link == AUDIT_LINK_DETACHED)
		add_problem(s->cgroup_id, s->cgroup_path, "a record without "
			    "its program: its link is no longer attached to "
			    "the cgroup");
	if (!damaged(v))
		return;
	for (unsigned i = 0; i < s->nuplinks; i++)
		if (!route_uplink_complete(&v->check, i, AF_UNSPEC)) {
			char what[160];

			snprintf(what, sizeof(what), "uplink %s: %s",
				 s->uplinks[i].ifname, v->check.up[i].problem);
			add_routing_problem(s, what);
			return;
		}
	add_routing_problem(s, v->check.shared.problem);
}

/* Journals of dead commands, and programs of ours without a record, on
 * cgroup_id (0: any).  Only decidable while no writer is at work: then a
 * journal is a dead writer's and every link of ours should be pinned. */
static void leftover_problems(uint64_t cgroup_id)
{
	static struct journal_entry journals[MAX_PROBLEMS];
	struct audit_stray strays[MAX_PROBLEMS];
	unsigned nj, ns;
	char path[256];

	if (mlb_lock_busy())
		return;
	nj = journal_list(journals, MAX_PROBLEMS);
	ns = audit_strays(cgroup_id, strays, MAX_PROBLEMS);
	if (mlb_lock_busy())
		return;
	for (unsigned i = 0; i < nj; i++) {
		const struct journal_entry *j = &journals[i];
		char file[128];

		snprintf(file, sizeof(file), "%s/%" PRIu64, MLB_JOURNAL_DIR,
			 j->cgroup_id);
		if ((cgroup_id && j->cgroup_id != cgroup_id) ||
		    access(file, F_OK))
			continue;	/* or its writer finished meanwhile */
		add_problem(j->cgroup_id, j->cgroup_path, "an interrupted %s "
			    "(pid %ld) left changes behind; attach or apply "
			    "again after repairing", j->command[0] ?
			    j->command : "command", j->pid);
	}
	for (unsigned i = 0; i < ns; i++) {
		audit_cgroup_path(strays[i].cgroup_id, path, sizeof(path));
		add_problem(strays[i].cgroup_id, path, "a program without its "
			    "record: %s (program id %u, link id %u) is "
			    "attached but not pinned", strays[i].prog_name,
			    strays[i].prog_id, strays[i].link_id);
	}
}

static void print_problems_text(void)
{
	for (unsigned i = 0; i < nproblems; i++)
		printf("%sproblem: cgroup %s (id %" PRIu64 "): %s\n"
		       "  repair: %s\n", i ? "" : "\n",
		       problems[i].cgroup[0] ? problems[i].cgroup : "?",
		       problems[i].cgroup_id, problems[i].what,
		       problems[i].fix);
}

static void print_problems_json(struct json *j)
{
	json_key(j, "problems");
	json_array_begin(j);
	for (unsigned i = 0; i < nproblems; i++) {
		json_object_begin(j);
		json_kv_string(j, "cgroup", problems[i].cgroup);
		json_kv_uint(j, "cgroup_id", problems[i].cgroup_id);
		json_kv_string(j, "problem", problems[i].what);
		json_kv_string(j, "repair", problems[i].fix);
		json_object_end(j);
	}
	json_array_end(j);
}

/* The exit code: problems make it STATUS_INCONSISTENT, with one line. */
static int verdict(struct mlb_err *err)
{
	if (!nproblems)
		return 0;
	mlb_fail(err, "%u problem%s found: cgroup %s: %s; run: %s", nproblems,
		 nproblems > 1 ? "s" : "", problems[0].cgroup,
		 problems[0].what, problems[0].fix);
	return STATUS_INCONSISTENT;
}

static void free_views(struct view *views, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(views[i].veths);
}

int status_show(const char *cgroup, bool json, struct mlb_err *err)
{
	static struct view views[MAX_ATTACHMENTS];
	uint64_t ids[MAX_ATTACHMENTS];
	char path[PATH_MAX];
	unsigned n = 0;
	struct json j;

	if (cgroup) {
		if (attachment_cgroup_id(cgroup, &ids[0], path, sizeof(path),
					 err))
			return -1;
		n = loader_is_attached(ids[0]) ? 1 : 0;
		leftover_problems(ids[0]);
		if (!n && !nproblems) {
			mlb_fail(err, "nothing is attached to cgroup %s", path);
			return ATTACHMENT_NONE;
		}
	} else {
		n = loader_list(ids, MAX_ATTACHMENTS);
		leftover_problems(0);
	}
	/* Read everything first so a failure prints nothing half-done. */
	for (unsigned i = 0; i < n; i++) {
		if (read_view(ids[i], &views[i], err)) {
			free_views(views, i);
			return -1;
		}
		view_problems(&views[i]);
	}

	if (json) {
		json_init(&j, stdout);
		json_object_begin(&j);
		json_key(&j, "attachments");
		json_array_begin(&j);
		for (unsigned i = 0; i < n; i++)
			print_json(&j, &views[i]);
		json_array_end(&j);
		print_problems_json(&j);
		json_object_end(&j);
		free_views(views, n);
		return verdict(err);
	}
	if (n == 0)
		printf("nothing attached\n");
	for (unsigned i = 0; i < n; i++) {
		if (i)
			printf("\n");
		print_text(&views[i]);
	}
	print_problems_text();
	free_views(views, n);
	return verdict(err);
}
