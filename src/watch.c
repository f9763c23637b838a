/* watch.c - the health daemon's loop: attachments come and go, link
 * events wake it, probes are polled, the configuration file is re-applied
 * on SIGHUP (see watch.h; each uplink is judged in watch_uplinks.c). */
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "apply.h"
#include "forward.h"
#include "journal.h"
#include "loader.h"
#include "metrics_http.h"
#include "nat.h"
#include "netns.h"
#include "probe.h"
#include "recover.h"
#include "watch.h"
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
		for (unsigned p = 0; p < a->up[i].in_flight; p++)
			probe_cancel(&a->up[i].probes[p]);
	if (a->events >= 0)
		close(a->events);
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
		watch_log_line("too many attachments; not watching cgroup id %" PRIu64,
			 id);
		return;
	}
	memset(a, 0, sizeof(*a));
	a->events = -1;
	if (loader_open(id, &a->pins, &err) ||
	    loader_read_state(&a->pins, &a->state, &err) ||
	    loader_read_health(&a->pins, a->state.nuplinks, health, &err)) {
		watch_log_line("cgroup id %" PRIu64 ": %s", id, err.msg);
		loader_close(&a->pins);
		return;
	}
	if (!covered(&a->state)) {
		loader_close(&a->pins);
		return;
	}
	a->used = true;
	a->id = id;
	a->link_id = watch_current_link_id(id);
	a->check_links = true;
	/* A restarted watch carries on from the health it finds. */
	bool down = false;

	for (unsigned i = 0; i < a->state.nuplinks; i++) {
		a->up[i].health = health[i];
		if (health[i].state == MLB_HEALTH_UNKNOWN)
			watch_set_state(a, i, MLB_HEALTH_UP, "watch started");
		a->up[i].link_ok = true;
		a->up[i].down_by_link = watch_down_by_link(&health[i]);
		down |= health[i].state == MLB_HEALTH_DOWN;
		a->up[i].routing_ok = true;
	}
	/* A watch killed between writing health and flipping left a down
	 * uplink in the slot table. */
	if (down)
		watch_apply_weights(a);
	if (enter(a, &err) == 0) {
		a->events = open_events();
		a->reachable = true;
	} else {
		watch_log_line("cgroup %s: %s", a->state.cgroup_path, err.msg);
	}
	leave();
	watch_log_line("watching cgroup %s (%u uplinks)", a->state.cgroup_path,
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
			watch_log_line("cgroup %s detached; no longer watching",
				 watched[s].state.cgroup_path);
			forget(&watched[s]);
		} else if (watch_current_link_id(watched[s].id) !=
			   watched[s].link_id) {
			/* attached again: watch the new attachment */
			forget(&watched[s]);
		} else {
			watch_refresh_state(&watched[s]);
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
		watch_log_line("%s: %s", path, line);
	free(text);
	return ret ? -1 : 0;
}

/* ---- the loop ---------------------------------------------------------- */

/* In the attachment's namespace, after an event: containers started
 * since get the tc program, those gone lose what was kept of them, and a
 * --lan interface made again gets its program back. */
static void refresh_forward(struct attachment_watch *a)
{
	struct mlb_err err;

	if (recover_lock(&err)) {
		watch_log_line("%s", err.msg);
		return;
	}
	/* detached or replaced meanwhile: not ours to touch */
	if (!loader_is_attached(a->id) ||
	    watch_current_link_id(a->id) != a->link_id) {
		mlb_unlock();
		return;
	}
	if (forward_refresh(&a->state, &err)) {
		if (strncmp(err.msg, a->forward_logged,
			    sizeof(a->forward_logged) - 1))
			watch_log_line("cgroup %s: %s", a->state.cgroup_path,
				       err.msg);
		memcpy(a->forward_logged, err.msg,
		       sizeof(a->forward_logged) - 1);
	} else {
		a->forward_logged[0] = 0;
	}
	mlb_unlock();
}

/* In the attachment's namespace, on every event and probe round: its
 * nftables table made again if it is wanted and gone (a firewall's
 * `nft flush ruleset`), or made when IP forwarding was turned on after
 * the attach (a container runtime started later).  A look without the
 * lock first: on most rounds there is nothing to do. */
static void reconcile_nat(struct attachment_watch *a)
{
	static char logged[sizeof(((struct mlb_err *)0)->msg)];
	struct mlb_err err;
	bool made = false;

	if (!nat_wanted(&a->state) ||
	    nat_table_exists(a->state.nft_table, &err) == 1)
		return;
	if (recover_lock(&err)) {
		watch_log_line("%s", err.msg);
		return;
	}
	/* detached or replaced meanwhile: not ours to touch */
	if (loader_is_attached(a->id) &&
	    watch_current_link_id(a->id) == a->link_id &&
	    nat_reconcile(&a->state, &made, &err)) {
		if (strcmp(err.msg, logged))
			watch_log_line("cgroup %s: %s", a->state.cgroup_path,
				       err.msg);
		snprintf(logged, sizeof(logged), "%s", err.msg);
	} else if (made) {
		watch_log_line("cgroup %s: nftables table inet %s made",
			       a->state.cgroup_path, a->state.nft_table);
		logged[0] = 0;
	}
	mlb_unlock();
}

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
	if (watch_check_links(a, &next)) {
		leave();
		watch_apply_weights(a);
		if (enter(a, &err)) {
			leave();
			return;
		}
	}
	watch_repair_routing(a, &next, watched, MAX_WATCHED);
	if (a->check_links)
		refresh_forward(a);
	reconcile_nat(a);
	a->check_links = false;
	for (unsigned i = 0; i < a->state.nuplinks; i++)
		if (a->up[i].in_flight == 0 && now >= a->up[i].next_probe_us &&
		    !watch_start_round(a, i, now, defaults))
			changed |= watch_end_round(a, i, defaults);
	leave();
	if (changed)
		watch_apply_weights(a);
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
	watch_log_line("started (probe every %u ms, timeout %u ms, down after %u, "
		 "up after %u)", d->interval_ms, d->timeout_ms, d->down, d->up);
	if (d->metrics_listen)
		watch_log_line("serving metrics at http://%s/metrics",
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
				watch_log_line("%s (the rest stays as it was)",
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
			if (watch_collect(a, now, defaults) || a->weights_pending)
				watch_apply_weights(a);
			tend(a, now);
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
			if (watch_collect(&watched[s], now, defaults))
				watch_apply_weights(&watched[s]);
		}
	}
	for (unsigned s = 0; s < MAX_WATCHED; s++)
		if (watched[s].used)
			forget(&watched[s]);
	metrics_http_stop();
	watch_log_line("stopped; the last slot tables stay in place");
	return 0;
}
