/* metrics_http.h - `watch --metrics-listen ADDR:PORT`: a small HTTP
 * responder inside watch's poll loop, serving metrics_write's text at
 * GET /metrics.  Single-threaded and non-blocking: a few connections at a
 * time, each with a bounded request and a deadline, closed after its one
 * response; 404 for any other path.
 */
#ifndef MLB_METRICS_HTTP_H
#define MLB_METRICS_HTTP_H

#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

/* Parse ADDR:PORT (IPv4) or [ADDR]:PORT (IPv6) into *addr. */
int metrics_http_parse(const char *arg, struct sockaddr_storage *addr,
		       socklen_t *len, struct mlb_err *err);

/* Listen on arg, serving the attachments of cgroup `under` and below
 * (NULL: all).  One server per process. */
int metrics_http_start(const char *arg, const char *under,
		       struct mlb_err *err);
void metrics_http_stop(void);

/* The most descriptors metrics_http_fds adds. */
#define METRICS_HTTP_MAX_FDS 9

/* Put the server's descriptors in fds (at most METRICS_HTTP_MAX_FDS),
 * returning how many; lower *wake_us to the earliest deadline. */
nfds_t metrics_http_fds(struct pollfd *fds, uint64_t *wake_us);

/* After poll: accept, read, answer and close what is ready or late. */
void metrics_http_serve(const struct pollfd *fds, nfds_t n, uint64_t now_us);

#endif
