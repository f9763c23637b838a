/* watch_defaults.h - watch's settings for uplinks that did not give their
 * own, and its other command-line settings.  Types only: main.c fills
 * them in, watch.c keeps them, watch_uplinks.c is handed them.
 */
#ifndef MLB_WATCH_DEFAULTS_H
#define MLB_WATCH_DEFAULTS_H

/* Settings for uplinks that did not give their own. */
struct watch_defaults {
	unsigned probe_type;		/* MLB_PROBE_ICMP, _TCP, _ARP */
	unsigned probe_port;
	unsigned interval_ms;		/* 1000 */
	unsigned timeout_ms;		/* 1000 */
	unsigned down;			/* 3 */
	unsigned up;			/* 3 */
	/* --config FILE: applied at start and again on every SIGHUP
	 * (NULL: SIGHUP only looks for new attachments). */
	const char *config_path;
	/* --cgroup PATH: only attachments of this cgroup and those below
	 * it (NULL: every one). */
	const char *cgroup_path;
	/* --metrics-listen ADDR:PORT: serve GET /metrics there (NULL:
	 * no). */
	const char *metrics_listen;
};

#endif
