/* metrics.h - the attachments' numbers in the Prometheus text exposition
 * format (version 0.0.4, as node_exporter's textfile collector and a
 * Prometheus scrape read it): sockets assigned per uplink, uplink health,
 * failovers, probe round-trip time, the uplink interfaces' byte and
 * packet counters, and what is attached.  Everything is read from the
 * pins and the kernel, so it needs no daemon: `mlb-bpf metrics` prints
 * it and `watch --metrics-listen` serves it (metrics_http.h).
 */
#ifndef MLB_METRICS_H
#define MLB_METRICS_H

#include <stdio.h>

#include "error.h"

/* Write the metrics of the attachments of cgroup `under` and those below
 * it (NULL: every one) to out.  Everything is read first: on failure
 * nothing is written. */
int metrics_write(FILE *out, const char *under, struct mlb_err *err);

#endif
