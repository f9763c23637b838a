/* watch.c - the health daemon's loop: attachments come and go, link
 * events wake it, probes are polled, adaptive attachments are sampled,
 * the configuration file is re-applied on SIGHUP (see watch.h).  It owns
 * what it watches: each uplink is judged in watch_uplinks.c and its
 * capacity in watch_capacity.c, and the verdicts are carried out here
 * (health recorded and logged, the slot table flipped); routing, tc
 * programs and NAT are put back by watch_repair.c. */
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "apply.h"
#include "journal.h"
#include "loader.h"
#include "lock.h"
#include "metrics_http.h"
#include "netns.h"
#include "probe.h"
#include "recover.h"
#include "route.h"
#include "route_reconcile.h"
#include "slots.h"
#include "watch.h"
#include "watch_capacity.h"
#include "watch_internal.h"
#include "watch_repair.h"
#include "watch_uplinks.h"

#define RESCAN_US 1000000	/* look for new or removed attachments */
static volatile sig_atomic_t stop_requested, rescan_requested,
	reload_requested;
/* The attachments watched (slots with used set) and the settings for
 * uplinks that did not give their own. */
static struct attachment_watch watched[MAX_WATCHED];
static const struct watch_defaults *defaults;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		rescan_requested = reload_requested = 1;
	else
		stop_requested = 1;
}

void watch_default_settings(struct watch_defaults *d)
{
	*d = (struct watch_defaults){
		.probe_type = MLB_PROBE_ICMP,
		.interval_ms = 1000,
		.timeout_ms = 1000,
		.down = 3,
		.up = 3,
	};
}
/* ---- health and the slot table ----------------------------------------- */

/* Record and log a new health state of uplink i (no-op if unchanged). */
static void set_state(struct attachment_watch *a, unsigned i, __u32 state,
		      const char *reason)
{
	struct mlb_health *h = &a->up[i].health;
	struct mlb_err err;

	if (h->state == state)
		return;
	if (h->state == MLB_HEALTH_UP && state == MLB_HEALTH_DOWN)
		h->failovers++;
	h->state = state;
	h->since = (uint64_t)time(NULL);
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	log_line("cgroup %s uplink %s: %s (%s)", a->state.cgroup_path,
		 uplink_name(a, i), state == MLB_HEALTH_UP ? "up" : "down",
		 reason);
	if (loader_write_health(&a->pins, i, h, &err))
		log_line("%s", err.msg);
}

/* Take up what `apply` changed in place (weights, probe settings) since
 * the record was read: the record is the truth, this copy a cache. */
static void refresh_state(struct attachment_watch *a)
{
	struct mlb_state fresh;
	struct mlb_err err;

	if (loader_read_state(&a->pins, &fresh, &err) == 0 &&
	    fresh.nuplinks == a->state.nuplinks)
		a->state = fresh;
}

/* --balance adaptive: the weights weighed again from the measures, for
 * the uplinks up now; true (and logged) if they moved. */
static bool reweigh(struct attachment_watch *a)
{
	bool live[MLB_MAX_UPLINKS];
	char line[1024];

	for (unsigned i = 0; i < a->state.nuplinks; i++)
		live[i] = a->up[i].health.state != MLB_HEALTH_DOWN;
	if (!watch_capacity_reweigh(&a->capacity, &a->state, live, line,
				    sizeof(line)))
		return false;
	log_line("cgroup %s: weights %s", a->state.cgroup_path, line);
	return true;
}

/* The adaptive weights in force, into adaptive; NULL when not adaptive
 * or none is set yet (the given weights stand). */
static const unsigned *adaptive_weights(struct attachment_watch *a,
					unsigned *adaptive)
{
	if (a->state.balance != MLB_BALANCE_ADAPTIVE)
		return NULL;
	if (!a->reweighed)
		reweigh(a);	/* health changed: one step, with it */
	a->reweighed = false;
	return watch_capacity_weights(&a->capacity, &a->state, adaptive) ?
	       adaptive : NULL;
}

/* New sockets go to the uplinks that are not down, by their weights; when
 * all are down, to the last resort (no mark: main; or the unreachable
 * mark, which is one more "uplink" after the real ones).
 *
 * Under the writers' lock, from reading the record to the flip: an
 * `apply` changing weights at the same time either comes first (and its
 * weights are read here) or after (and it reads the health written
 * here); neither change is lost. */
static void apply_weights(struct attachment_watch *a)
{
	struct mlb_health health[MLB_MAX_UPLINKS];
	unsigned weights[MLB_MAX_UPLINKS + 1], adaptive[MLB_MAX_UPLINKS];
	unsigned live, n;
	struct mlb_err err;

	/* Another writer held the lock too long: the loop tries again. */
	a->weights_pending = recover_lock(&err) != 0;
	if (a->weights_pending) {
		log_line("cgroup %s: %s (trying again)", a->state.cgroup_path,
			 err.msg);
		return;
	}
	journal_report(stderr, "mlb-bpf watch: ");
	refresh_state(a);
	for (unsigned i = 0; i < a->state.nuplinks; i++)
		health[i] = a->up[i].health;
	n = mlb_live_weights(&a->state, health, adaptive_weights(a, adaptive),
			     weights, &live);
	if (loader_set_weights(&a->pins, weights, n, &err))
		log_line("cgroup %s: %s", a->state.cgroup_path, err.msg);
	else if (!live)
		log_line("cgroup %s: every uplink is down; new sockets %s",
			 a->state.cgroup_path,
			 a->state.last_resort == MLB_LAST_RESORT_UNREACHABLE ?
			 "get the unreachable route" : "follow the main table");
	mlb_unlock();
}

/* ---- link checks and routing repair (events, and at every probe) ------- */

/* In the attachment's namespace: look every uplink's link up, next
 * getting what the kernel has now (index, addresses, gateways), and have
 * each judged.  Returns true if some uplink went down. */
static bool check_links(struct attachment_watch *a, struct mlb_state *next)
{
	bool changed = false;

	*next = a->state;
	for (unsigned i = 0; i < a->state.nuplinks; i++) {
		struct mlb_link_info link;
		struct uplink_verdict verdict;
		struct mlb_err err;
		bool found = !route_lookup_link(uplink_name(a, i), &link, &err);

		if (found)
			route_follow_link(&next->uplinks[i], &link);
		watch_judge_link(&a->state.uplinks[i], &a->up[i],
				 found ? &link : NULL, err.msg, &verdict);
		if (verdict.change) {
			set_state(a, i, verdict.state, verdict.reason);
			changed = true;
		}
	}
	return changed;
}

/* ---- probe rounds ------------------------------------------------------ */

/* Uplink i's round is over: have it judged, and record the health (a new
 * state logged).  Returns true if its state changed. */
static bool end_round(struct attachment_watch *a, unsigned i)
{
	struct uplink_verdict verdict;
	struct mlb_err err;

	watch_judge_round(&a->state.uplinks[i], &a->up[i], defaults,
			  (uint64_t)time(NULL), &verdict);
	if (verdict.change)
		set_state(a, i, verdict.state, verdict.reason);
	else if (loader_write_health(&a->pins, i, &a->up[i].health, &err))
		log_line("%s", err.msg);
	return verdict.change;
}

/* Look at the probes in flight; true if some state changed. */
static bool collect(struct attachment_watch *a, uint64_t now)
{
	bool changed = false;

	for (unsigned i = 0; i < a->state.nuplinks; i++)
		if (watch_round_over(&a->up[i], now))
			changed |= end_round(a, i);
	return changed;
}

/* ---- entering an attachment's namespace -------------------------------- */

static int enter(const struct attachment_watch *a, struct mlb_err *err)
{
	if (a->state.netns_path[0]) {
		if (netns_inode_of(a->state.netns_path) !=
		    a->state.netns_inode)
			return mlb_fail(err, "network namespace %s is gone",
					a->state.netns_path);
		return netns_enter(a->state.netns_path, err);
	}
	if (netns_return_home(err))
		return -1;
	if (netns_current_inode() != a->state.netns_inode)
		return mlb_fail(err, "attached from another network namespace");
	return 0;
}

static void leave(void)
{
	struct mlb_err ignored;

	netns_return_home(&ignored);
}

/* A netlink socket that wakes us on link, address and route changes. */
static int open_events(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
			     RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR |
			     RTMGRP_IPV6_ROUTE |
			     1u << (RTNLGRP_IPV4_RULE - 1) |
			     1u << (RTNLGRP_IPV6_RULE - 1),
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			NETLINK_ROUTE);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void drain(int fd)
{
	char buf[8192];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* ---- attachments come and go ------------------------------------------- */

static void forget(struct attachment_watch *a)
{
	for (unsigned i = 0; i < a->state.nuplinks; i++)
		watch_cancel_round(&a->up[i]);
	if (a->events >= 0)
		close(a->events);
	watch_capacity_close(&a->capacity);
	loader_close(&a->pins);
	a->used = false;
}

/* Whether watch looks after this attachment (--cgroup). */
static bool covered(const struct mlb_state *state)
{
	const char *top = defaults->cgroup_path;
	size_t n = top ? strlen(top) : 0;

	return !top || (!strncmp(state->cgroup_path, top, n) &&
			(state->cgroup_path[n] == 0 ||
			 state->cgroup_path[n] == '/' || top[n - 1] == '/'));
}

static void adopt(uint64_t id)
{
	struct attachment_watch *a = NULL;
	struct mlb_health health[MLB_MAX_UPLINKS];
	struct mlb_err err;

	for (unsigned s = 0; s < MAX_WATCHED && !a; s++)
		if (!watched[s].used)
			a = &watched[s];
	if (!a) {
		log_line("too many attachments; not watching cgroup id %" PRIu64,
			 id);
		return;
	}
	memset(a, 0, sizeof(*a));
	a->events = -1;
	watch_capacity_init(&a->capacity);
	if (loader_open(id, &a->pins, &err) ||
	    loader_read_state(&a->pins, &a->state, &err) ||
	    loader_read_health(&a->pins, a->state.nuplinks, health, &err)) {
		log_line("cgroup id %" PRIu64 ": %s", id, err.msg);
		loader_close(&a->pins);
		return;
	}
	if (!covered(&a->state)) {
		loader_close(&a->pins);
		return;
	}
	a->used = true;
	a->id = id;
	a->link_id = current_link_id(id);
	a->check_links = true;
	/* A restarted watch carries on from the health it finds. */
	bool down = false;

	for (unsigned i = 0; i < a->state.nuplinks; i++) {
		a->up[i].health = health[i];
		if (health[i].state == MLB_HEALTH_UNKNOWN)
			set_state(a, i, MLB_HEALTH_UP, "watch started");
		a->up[i].link_ok = true;
		a->up[i].down_by_link = watch_down_by_link(&health[i]);
		down |= health[i].state == MLB_HEALTH_DOWN;
		a->up[i].routing_ok = true;
	}
	/* A watch killed between writing health and flipping left a down
	 * uplink in the slot table. */
	if (down)
		apply_weights(a);
	if (enter(a, &err) == 0) {
		a->events = open_events();
		a->reachable = true;
	} else {
		log_line("cgroup %s: %s", a->state.cgroup_path, err.msg);
	}
	leave();
	log_line("watching cgroup %s (%u uplinks)", a->state.cgroup_path,
		 a->state.nuplinks);
}

static void rescan(void)
{
	uint64_t ids[MAX_WATCHED];
	unsigned n = loader_list(ids, MAX_WATCHED);

	for (unsigned s = 0; s < MAX_WATCHED; s++) {
		bool still = false;

		if (!watched[s].used)
			continue;
		for (unsigned k = 0; k < n; k++)
			still |= ids[k] == watched[s].id;
		if (!still || !loader_is_attached(watched[s].id)) {
			log_line("cgroup %s detached; no longer watching",
				 watched[s].state.cgroup_path);
			forget(&watched[s]);
		} else if (current_link_id(watched[s].id) !=
			   watched[s].link_id) {
			/* attached again: watch the new attachment */
			forget(&watched[s]);
		} else {
			refresh_state(&watched[s]);
		}
	}
	for (unsigned k = 0; k < n; k++) {
		bool known = false;

		for (unsigned s = 0; s < MAX_WATCHED; s++)
			known |= watched[s].used && watched[s].id == ids[k];
		if (!known)
			adopt(ids[k]);
	}
}

/* ---- the configuration file --------------------------------------------- */

/* Apply the configuration file, logging apply's lines as watch's own.
 * On failure what was changed before the failing step stays. */
static int reload(const char *path, struct mlb_err *err)
{
	char *text = NULL, *line, *save;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int ret;

	if (!out)
		return mlb_fail(err, "out of memory");
	if (recover_lock(err)) {
		fclose(out);
		free(text);
		return -1;
	}
	journal_report(stderr, "mlb-bpf watch: ");
	ret = apply_file(path, false, out, err);
	mlb_unlock();
	fclose(out);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		log_line("%s: %s", path, line);
	free(text);
	return ret ? -1 : 0;
}

/* ---- the loop ---------------------------------------------------------- */

/* Link checks, routing repairs and new probe rounds for one attachment,
 * in its namespace: on every event and before every probe round. */
static void tend(struct attachment_watch *a, uint64_t now)
{
	bool changed = false, due = a->check_links;
	static struct mlb_state next;
	struct mlb_err err;

	for (unsigned i = 0; i < a->state.nuplinks; i++)
		due |= a->up[i].in_flight == 0 && now >= a->up[i].next_probe_us;
	if (!due)
		return;
	if (enter(a, &err)) {
		leave();
		return;
	}
	/* A link that went down is out of the slot table before the slower
	 * work below (routing repair, containers' veths): status already
	 * shows it down, and new sockets must not get it meanwhile. */
	if (check_links(a, &next)) {
		leave();
		apply_weights(a);
		if (enter(a, &err)) {
			leave();
			return;
		}
	}
	watch_repair_routing(a, watched, MAX_WATCHED, &next);
	if (a->check_links)
		watch_refresh_forward(a);
	watch_reconcile_nat(a);
	a->check_links = false;
	for (unsigned i = 0; i < a->state.nuplinks; i++)
		if (a->up[i].in_flight == 0 && now >= a->up[i].next_probe_us &&
		    !watch_start_round(&a->state.uplinks[i], &a->up[i], now,
				       defaults))
			changed |= end_round(a, i);
	leave();
	if (changed)
		apply_weights(a);
}

/* --balance adaptive, once a second: in the attachment's namespace, its
 * uplinks' counters sampled; the weights flipped when they moved. */
static void sample_capacity(struct attachment_watch *a, uint64_t now)
{
	uint32_t rtt[MLB_MAX_UPLINKS];
	struct mlb_err err;

	if (!watch_capacity_due(&a->capacity, &a->state, now))
		return;
	/* the round trip only while the last probe answered */
	for (unsigned i = 0; i < a->state.nuplinks; i++)
		rtt[i] = a->up[i].health.last_ok ? a->up[i].health.rtt_us : 0;
	if (enter(a, &err) ||
	    watch_capacity_sample(&a->capacity, &a->state, rtt, now, &err)) {
		if (strcmp(err.msg, a->capacity_logged))
			log_line("cgroup %s: capacity not measured: %s",
				 a->state.cgroup_path, err.msg);
		snprintf(a->capacity_logged, sizeof(a->capacity_logged), "%s",
			 err.msg);
		leave();
		return;
	}
	leave();
	a->capacity_logged[0] = 0;
	if (reweigh(a)) {
		a->reweighed = true;
		apply_weights(a);
	}
}

/* Poll probe sockets and event sockets until something is due. */
static void wait_for_work(uint64_t now)
{
	struct pollfd fds[MAX_WATCHED * (1 + MLB_MAX_UPLINKS * MLB_MAX_PROBES)];
	struct attachment_watch *owner[sizeof(fds) / sizeof(fds[0])];
	uint64_t wake = now + 100000;	/* at least every 100 ms */
	nfds_t n = 0;

	for (unsigned s = 0; s < MAX_WATCHED; s++) {
		struct attachment_watch *a = &watched[s];

		if (!a->used)
			continue;
		if (a->events >= 0) {
			owner[n] = a;
			fds[n++] = (struct pollfd){ .fd = a->events,
						    .events = POLLIN };
		}
		for (unsigned i = 0; i < a->state.nuplinks; i++) {
			struct uplink_watch *w = &a->up[i];

			if (w->in_flight == 0 && w->next_probe_us < wake)
				wake = w->next_probe_us;
			for (unsigned p = 0; p < w->in_flight; p++) {
				if (w->probes[p].fd < 0)
					continue;
				if (w->probes[p].deadline_us < wake)
					wake = w->probes[p].deadline_us;
				owner[n] = NULL;
				fds[n++] = (struct pollfd){
					.fd = w->probes[p].fd,
					.events = probe_poll_events(&w->probes[p]),
				};
			}
		}
	}
	poll(fds, n, wake > now ? (int)((wake - now + 999) / 1000) : 0);
	for (nfds_t k = 0; k < n; k++)
		/* POLLERR too: an overrun (ENOBUFS in a storm of events)
		 * means events were lost, so look at everything. */
		if (owner[k] && (fds[k].revents & (POLLIN | POLLERR))) {
			drain(fds[k].fd);
			owner[k]->check_links = true;
		}
}

int watch_run(const struct watch_defaults *d, struct mlb_err *err)
{
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t next_scan = 0;

	defaults = d;
	if (netns_save_home(err))
		return -1;
	/* first: a port in use fails before anything is done */
	if (d->metrics_listen &&
	    metrics_http_start(d->metrics_listen, d->cgroup_path, err))
		return -1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_line("started (probe every %u ms, timeout %u ms, down after %u, "
		 "up after %u)", d->interval_ms, d->timeout_ms, d->down, d->up);
	if (d->metrics_listen)
		log_line("serving metrics at http://%s/metrics",
			       d->metrics_listen);
	/* clean up after a writer (or an earlier watch) that died */
	if (recover_lock(err))
		return -1;
	journal_report(stderr, "mlb-bpf watch: ");
	mlb_unlock();

	if (d->config_path && reload(d->config_path, err))
		return -1;
	while (!stop_requested) {
		uint64_t now = probe_now_us();

		if (reload_requested) {
			struct mlb_err reload_err;

			reload_requested = 0;
			if (d->config_path &&
			    reload(d->config_path, &reload_err))
				log_line("%s (the rest stays as it was)",
					 reload_err.msg);
		}

		if (now >= next_scan || rescan_requested) {
			rescan_requested = 0;
			rescan();
			next_scan = now + RESCAN_US;
		}
		for (unsigned s = 0; s < MAX_WATCHED; s++) {
			struct attachment_watch *a = &watched[s];

			if (!a->used)
				continue;
			if (collect(a, now) || a->weights_pending)
				apply_weights(a);
			tend(a, now);
			sample_capacity(a, now);
		}
		wait_for_work(probe_now_us());
		now = probe_now_us();
		/* Events first: a probe answered while the uplink's table
		 * was emptied must not count. */
		for (unsigned s = 0; s < MAX_WATCHED; s++) {
			if (!watched[s].used)
				continue;
			if (watched[s].check_links)
				tend(&watched[s], now);
			if (collect(&watched[s], now))
				apply_weights(&watched[s]);
		}
	}
	for (unsigned s = 0; s < MAX_WATCHED; s++)
		if (watched[s].used)
			forget(&watched[s]);
	metrics_http_stop();
	log_line("stopped; the last slot tables stay in place");
	return 0;
}
