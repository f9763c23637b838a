/* metrics.c - the attachments' numbers as Prometheus text (see
 * metrics.h).  Gathered first, attachment by attachment, then written
 * family by family: the format wants all samples of a metric together,
 * under one HELP and one TYPE line. */
#include <inttypes.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "capacity.h"
#include "link_stats.h"
#include "loader.h"
#include "loader_capacity.h"
#include "metrics.h"
#include "netns.h"

#define MAX_ATTACHMENTS 256

/* Everything written for one attachment. */
struct view {
	struct mlb_state state;
	struct mlb_prog_info prog;
	uint64_t counts[MLB_MAX_UPLINKS + 1];	/* + the unreachable mark's */
	struct mlb_health health[MLB_MAX_UPLINKS];
	struct link_stats stats[MLB_MAX_UPLINKS];
	uint64_t live[MLB_MAX_UPLINKS];		/* live connections */
	struct mlb_capacity capacity[MLB_MAX_UPLINKS];	/* adaptive */
};

/* ---- reading ------------------------------------------------------------ */

/* Whether the attachment's cgroup is under (or is) the cgroup `under`. */
static bool covered(const struct mlb_state *state, const char *under)
{
	size_t n = under ? strlen(under) : 0;

	return !under || (!strncmp(state->cgroup_path, under, n) &&
			  (state->cgroup_path[n] == 0 ||
			   state->cgroup_path[n] == '/' || under[n - 1] == '/'));
}

/* The counters of the uplinks' interfaces, in the namespace the caller
 * is in. */
static void read_stats_here(struct view *v)
{
	char names[MLB_MAX_UPLINKS][IF_NAMESIZE];

	for (unsigned i = 0; i < v->state.nuplinks; i++)
		memcpy(names[i], v->state.uplinks[i].ifname, IF_NAMESIZE);
	link_stats_read(names, v->state.nuplinks, v->stats);
}

/* The uplinks live in the attachment's namespace (--netns): enter it for
 * the reading and come back.  A namespace that is gone, or an attachment
 * made in another namespace than ours, leaves the counters out. */
static int read_stats(struct view *v, struct mlb_err *err)
{
	const struct mlb_state *s = &v->state;
	int held;

	if (!s->netns_path[0]) {
		if (netns_current_inode() == s->netns_inode)
			read_stats_here(v);
		return 0;
	}
	if (netns_inode_of(s->netns_path) != s->netns_inode)
		return 0;
	held = netns_hold_current(err);
	if (held < 0)
		return -1;
	if (netns_enter(s->netns_path, err) == 0)
		read_stats_here(v);
	return netns_go_back(held, err);
}

static int read_view(uint64_t id, struct view *v, struct mlb_err *err)
{
	struct mlb_pins pins;
	int ret;

	memset(v, 0, sizeof(*v));
	if (loader_open(id, &pins, err))
		return -1;
	ret = loader_read_attachment(&pins, &v->state, v->counts, v->health,
				     &v->prog, err) ||
	      loader_read_conns(&pins, v->state.nuplinks, v->live, err) ||
	      loader_capacity_view(id, v->state.nuplinks, v->capacity, err);
	loader_close(&pins);
	return ret ? -1 : 0;
}

/* ---- writing ------------------------------------------------------------ */

/* A label value, escaped as the format says: backslash, double quote and
 * line feed. */
static void label(FILE *out, const char *name, const char *value, bool first)
{
	fprintf(out, "%s%s=\"", first ? "" : ",", name);
	for (const char *c = value; *c; c++) {
		if (*c == '\\' || *c == '"')
			fputc('\\', out);
		if (*c == '\n')
			fputs("\\n", out);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

static void family(FILE *out, const char *name, const char *type,
		   const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{cgroup="...",uplink="..."} (uplink NULL: the cgroup's alone) */
static void sample_start(FILE *out, const char *name,
			 const struct mlb_state *s, const char *uplink)
{
	fprintf(out, "%s{", name);
	label(out, "cgroup", s->cgroup_path, true);
	if (uplink)
		label(out, "uplink", uplink, false);
	fputs("} ", out);
}

static void sample_u64(FILE *out, const char *name, const struct mlb_state *s,
		       const char *uplink, uint64_t value)
{
	sample_start(out, name, s, uplink);
	fprintf(out, "%" PRIu64 "\n", value);
}

static const char *health_word(__u32 state)
{
	switch (state) {
	case MLB_HEALTH_UP: return "up";
	case MLB_HEALTH_DOWN: return "down";
	default: return "unknown";
	}
}

static void write_info(FILE *out, const struct view *views, unsigned n,
		       unsigned unreadable)
{
	family(out, "mlb_build_info", "gauge",
	       "The mlb-bpf that wrote these metrics, as a label.");
	fputs("mlb_build_info{", out);
	label(out, "version", MLB_VERSION, true);
	fputs("} 1\n", out);
	family(out, "mlb_attachments_unreadable", "gauge",
	       "Pinned attachments that could not be read (a pin missing: "
	       "see mlb-bpf status); they have no other samples.");
	fprintf(out, "mlb_attachments_unreadable %u\n", unreadable);
	family(out, "mlb_attachment_info", "gauge",
	       "One per attachment: its program, BPF link and how the link "
	       "is attached to the cgroup.");
	for (unsigned a = 0; a < n; a++) {
		const struct view *v = &views[a];
		const char *type = libbpf_bpf_attach_type_str(
			(enum bpf_attach_type)v->prog.attach_type);
		char num[24];

		fputs("mlb_attachment_info{", out);
		label(out, "cgroup", v->state.cgroup_path, true);
		snprintf(num, sizeof(num), "%" PRIu64,
			 (uint64_t)v->state.cgroup_id);
		label(out, "cgroup_id", num, false);
		label(out, "netns", v->state.netns_path, false);
		snprintf(num, sizeof(num), "%u", v->prog.prog_id);
		label(out, "prog_id", num, false);
		snprintf(num, sizeof(num), "%u", v->prog.link_id);
		label(out, "link_id", num, false);
		label(out, "attach_type", type ? type : "unknown", false);
		fputs("} 1\n", out);
	}
	family(out, "mlb_attached_timestamp_seconds", "gauge",
	       "When the attachment was made, seconds since the epoch.");
	for (unsigned a = 0; a < n; a++)
		sample_u64(out, "mlb_attached_timestamp_seconds",
			   &views[a].state, NULL, views[a].state.attached_at);
	family(out, "mlb_program_runs_total", "counter",
	       "Runs of the socket program (counted with "
	       "kernel.bpf_stats_enabled=1 only).");
	for (unsigned a = 0; a < n; a++)
		sample_u64(out, "mlb_program_runs_total", &views[a].state,
			   NULL, views[a].prog.run_cnt);
	family(out, "mlb_program_run_seconds_total", "counter",
	       "Time the socket program ran (counted with "
	       "kernel.bpf_stats_enabled=1 only).");
	for (unsigned a = 0; a < n; a++) {
		sample_start(out, "mlb_program_run_seconds_total",
			     &views[a].state, NULL);
		fprintf(out, "%.9f\n", views[a].prog.run_time_ns / 1e9);
	}
}

/* --balance adaptive: what watch measured and the weight it set, for
 * the attachments that have them. */
static void write_capacity(FILE *out, const struct view *views, unsigned n)
{
	family(out, "mlb_uplink_capacity_bits_per_second", "gauge",
	       "What the uplink carries as --balance adaptive measured it "
	       "(only once measured).");
	for (unsigned a = 0; a < n; a++)
		for (unsigned i = 0; i < views[a].state.nuplinks; i++)
			if (views[a].capacity[i].bps)
				sample_u64(out, "mlb_uplink_capacity_bits_per_"
					   "second", &views[a].state,
					   views[a].state.uplinks[i].ifname,
					   views[a].capacity[i].bps);
	family(out, "mlb_uplink_weight_in_force", "gauge",
	       "The weight --balance adaptive put in force, with why as a "
	       "label (only where watch set one).");
	for (unsigned a = 0; a < n; a++)
		for (unsigned i = 0; i < views[a].state.nuplinks; i++) {
			const struct mlb_capacity *c = &views[a].capacity[i];

			if (!c->why)
				continue;
			fputs("mlb_uplink_weight_in_force{", out);
			label(out, "cgroup", views[a].state.cgroup_path, true);
			label(out, "uplink", views[a].state.uplinks[i].ifname,
			      false);
			label(out, "why", capacity_why_name(c->why), false);
			fprintf(out, "} %u\n", c->weight);
		}
}

static void write_sockets(FILE *out, const struct view *views, unsigned n)
{
	family(out, "mlb_sockets_assigned_total", "counter",
	       "New sockets of the cgroup given the uplink's mark.");
	for (unsigned a = 0; a < n; a++)
		for (unsigned i = 0; i < views[a].state.nuplinks; i++)
			sample_u64(out, "mlb_sockets_assigned_total",
				   &views[a].state,
				   views[a].state.uplinks[i].ifname,
				   views[a].counts[i]);
	family(out, "mlb_sockets_unreachable_total", "counter",
	       "New sockets given the unreachable mark while every uplink "
	       "was down (--last-resort unreachable only).");
	for (unsigned a = 0; a < n; a++)
		if (views[a].state.last_resort == MLB_LAST_RESORT_UNREACHABLE)
			sample_u64(out, "mlb_sockets_unreachable_total",
				   &views[a].state, NULL,
				   views[a].counts[views[a].state.nuplinks]);
	family(out, "mlb_uplink_live_connections", "gauge",
	       "TCP and connected UDP sockets open now on the uplink, as "
	       "--balance least-conn and adaptive count them (0 with rr).");
	for (unsigned a = 0; a < n; a++)
		for (unsigned i = 0; i < views[a].state.nuplinks; i++)
			sample_u64(out, "mlb_uplink_live_connections",
				   &views[a].state,
				   views[a].state.uplinks[i].ifname,
				   views[a].live[i]);
	family(out, "mlb_uplink_weight", "gauge",
	       "The uplink's configured weight (1 to 1000).");
	for (unsigned a = 0; a < n; a++)
		for (unsigned i = 0; i < views[a].state.nuplinks; i++)
			sample_u64(out, "mlb_uplink_weight", &views[a].state,
				   views[a].state.uplinks[i].ifname,
				   views[a].state.uplinks[i].weight);
	write_capacity(out, views, n);
}

static void write_health(FILE *out, const struct view *views, unsigned n)
{
	family(out, "mlb_uplink_up", "gauge",
	       "1 if watch judges the uplink up, 0 if down (no sample "
	       "before a watch has looked at it).");
	for (unsigned a = 0; a < n; a++)
		for (unsigned i = 0; i < views[a].state.nuplinks; i++)
			if (views[a].health[i].state != MLB_HEALTH_UNKNOWN)
				sample_u64(out, "mlb_uplink_up",
					   &views[a].state,
					   views[a].state.uplinks[i].ifname,
					   views[a].health[i].state ==
					   MLB_HEALTH_UP);
	family(out, "mlb_uplink_health_info", "gauge",
	       "The uplink's health (up, down or unknown) and why it last "
	       "changed, as labels.");
	for (unsigned a = 0; a < n; a++)
		for (unsigned i = 0; i < views[a].state.nuplinks; i++) {
			const struct mlb_health *h = &views[a].health[i];

			fputs("mlb_uplink_health_info{", out);
			label(out, "cgroup", views[a].state.cgroup_path, true);
			label(out, "uplink", views[a].state.uplinks[i].ifname,
			      false);
			label(out, "state", health_word(h->state), false);
			label(out, "reason", h->reason, false);
			fputs("} 1\n", out);
		}
	family(out, "mlb_uplink_health_since_timestamp_seconds", "gauge",
	       "When the uplink's health last changed, seconds since the "
	       "epoch.");
	for (unsigned a = 0; a < n; a++)
		for (unsigned i = 0; i < views[a].state.nuplinks; i++)
			if (views[a].health[i].since)
				sample_u64(out, "mlb_uplink_health_since_"
					   "timestamp_seconds", &views[a].state,
					   views[a].state.uplinks[i].ifname,
					   views[a].health[i].since);
	family(out, "mlb_uplink_failovers_total", "counter",
	       "Times watch took the uplink out of the balance (up to down).");
	for (unsigned a = 0; a < n; a++)
		for (unsigned i = 0; i < views[a].state.nuplinks; i++)
			sample_u64(out, "mlb_uplink_failovers_total",
				   &views[a].state,
				   views[a].state.uplinks[i].ifname,
				   views[a].health[i].failovers);
	family(out, "mlb_uplink_probe_rtt_seconds", "gauge",
	       "Round-trip time of the uplink's last answered health probe.");
	for (unsigned a = 0; a < n; a++)
		for (unsigned i = 0; i < views[a].state.nuplinks; i++) {
			const struct mlb_health *h = &views[a].health[i];

			if (!h->last_probe || !h->last_ok ||
			    mlb_uplink_judged_by_link(&views[a].state.uplinks[i]))
				continue;
			sample_start(out, "mlb_uplink_probe_rtt_seconds",
				     &views[a].state,
				     views[a].state.uplinks[i].ifname);
			fprintf(out, "%.6f\n", h->rtt_us / 1e6);
		}
}

/* The interface counters: one family per field. */
static void write_stats(FILE *out, const struct view *views, unsigned n)
{
	static const struct {
		const char *name, *help;
		size_t offset;
	} fields[] = {
		{ "mlb_uplink_receive_bytes_total", "Bytes the uplink's "
		  "interface received (all its traffic, not only the "
		  "cgroup's).", offsetof(struct link_stats, rx_bytes) },
		{ "mlb_uplink_transmit_bytes_total", "Bytes the uplink's "
		  "interface sent (all its traffic, not only the cgroup's).",
		  offsetof(struct link_stats, tx_bytes) },
		{ "mlb_uplink_receive_packets_total", "Packets the uplink's "
		  "interface received.", offsetof(struct link_stats,
						  rx_packets) },
		{ "mlb_uplink_transmit_packets_total", "Packets the uplink's "
		  "interface sent.", offsetof(struct link_stats, tx_packets) },
	};

	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		family(out, fields[f].name, "counter", fields[f].help);
		for (unsigned a = 0; a < n; a++)
			for (unsigned i = 0; i < views[a].state.nuplinks; i++) {
				const struct link_stats *s = &views[a].stats[i];

				if (!s->read)
					continue;
				sample_u64(out, fields[f].name,
					   &views[a].state,
					   views[a].state.uplinks[i].ifname,
					   *(const uint64_t *)((const char *)s +
							       fields[f].offset));
			}
	}
}

int metrics_write(FILE *out, const char *under, struct mlb_err *err)
{
	uint64_t ids[MAX_ATTACHMENTS];
	struct view *views;
	unsigned n, kept = 0, unreadable = 0;

	n = loader_list(ids, MAX_ATTACHMENTS);
	views = calloc(n ? n : 1, sizeof(*views));
	if (!views)
		return mlb_fail(err, "out of memory");
	for (unsigned k = 0; k < n; k++) {
		struct view *v = &views[kept];

		if (read_view(ids[k], v, err)) {
			/* one removed meanwhile is simply not there; one
			 * without a readable record is everyone's */
			if (loader_is_attached(ids[k]) &&
			    (loader_read_record(ids[k], &v->state, err) ?
			     !under : covered(&v->state, under)))
				unreadable++;
			continue;
		}
		if (!covered(&v->state, under))
			continue;
		if (read_stats(v, err)) {
			free(views);
			return -1;
		}
		kept++;
	}
	write_info(out, views, kept, unreadable);
	write_sockets(out, views, kept);
	write_health(out, views, kept);
	write_stats(out, views, kept);
	free(views);
	return 0;
}
