/* metrics_http.h - `watch --metrics-listen ADDR:PORT`: metrics_write's
 * text at GET /metrics, served by libmicrohttpd in a thread of its own,
 * so watch's probes and failovers never wait for a client.  404 for any
 * other path, 405 for methods other than GET and HEAD; connections,
 * their memory and their idle time are bounded.
 */
#ifndef MLB_METRICS_HTTP_H
#define MLB_METRICS_HTTP_H

#include <sys/socket.h>

#include "error.h"

/* Parse ADDR:PORT (IPv4) or [ADDR]:PORT (IPv6) into *addr. */
int metrics_http_parse(const char *arg, struct sockaddr_storage *addr,
		       socklen_t *len, struct mlb_err *err);

/* Listen on arg and serve, from the server's thread, the attachments of
 * cgroup `under` and below (NULL: all).  One server per process. */
int metrics_http_start(const char *arg, const char *under,
		       struct mlb_err *err);
/* Stop serving: the thread is joined and every connection closed. */
void metrics_http_stop(void);

#endif
