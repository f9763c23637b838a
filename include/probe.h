/* probe.h - health probes that leave by the uplink they test: every probe
 * socket carries the uplink's fwmark (so it follows the uplink's routing
 * table) and is bound to the uplink's interface, never the default route.
 *
 * Probes are asynchronous so that all uplinks are probed at once: start
 * one, poll its fd, then ask whether it has finished.  A probe's socket
 * is created in the network namespace the thread is in when it starts.
 */
#ifndef MLB_PROBE_H
#define MLB_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "error.h"

enum probe_type {
	PROBE_ICMP,		/* ICMP echo request / reply */
	PROBE_TCP,		/* TCP connect; a refusal also proves the path */
	PROBE_ARP,		/* ARP request / reply on the link */
};

struct probe {
	int fd;			/* -1 when idle */
	enum probe_type type;
	struct in_addr target;
	uint16_t id, seq;	/* ICMP: what the reply must carry */
	uint64_t started_us;	/* CLOCK_MONOTONIC, microseconds */
	uint64_t deadline_us;
	bool done, ok;
	uint32_t rtt_us;	/* when ok */
	int ifindex;		/* ARP */
	unsigned char hwaddr[6];/* ARP: our own address */
	struct in_addr source;	/* ARP: our own IPv4 address */
};

/* Start a probe of `target` (port for PROBE_TCP) out of interface ifname
 * (index ifindex, IPv4 address source) with fwmark `mark`, finishing at
 * the latest after timeout_ms.  Returns -1 with a message if the probe
 * could not even be sent (the caller counts that as a failed probe). */
int probe_start(struct probe *p, enum probe_type type, struct in_addr target,
		uint16_t port, const char *ifname, int ifindex,
		struct in_addr source, uint32_t mark, unsigned timeout_ms,
		struct mlb_err *err);

/* The events to poll p->fd for (POLLIN or POLLOUT). */
short probe_poll_events(const struct probe *p);

/* Look at the probe after its fd was readable/writable, or its deadline
 * passed: returns true once it is done (then p->ok and p->rtt_us say how),
 * closing its socket. */
bool probe_check(struct probe *p, uint64_t now_us);

/* Abandon a probe, closing its socket. */
void probe_cancel(struct probe *p);

/* CLOCK_MONOTONIC in microseconds. */
uint64_t probe_now_us(void);

#endif
