/* metrics_http.c - GET /metrics, served by libmicrohttpd in a thread of
 * its own (see metrics_http.h).  The thread only reads the pins and the
 * kernel (metrics_write), never watch's own state, so nothing is shared
 * but the cgroup string copied at start.  Watch's loop does not see the
 * server at all: a scrape storm or a client that never finishes asking
 * costs it no wake-up and no delay. */
#define _GNU_SOURCE	/* asprintf */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <microhttpd.h>

#include "metrics.h"
#include "metrics_http.h"

/* The bounds that keep a slow or hostile client's cost fixed.  Beyond the
 * connection limit the kernel's backlog queues the rest until a slot is
 * free; a connection idle for the timeout is closed; a request whose
 * headers do not fit the connection's memory is refused with 431. */
#define CONNECTION_LIMIT 64
#define BACKLOG 256
#define IDLE_TIMEOUT_S 5
#define CONNECTION_MEMORY (16 * 1024)

#define EXPOSITION_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_TYPE "text/plain; charset=utf-8"

static struct MHD_Daemon *daemon_;
static char *serve_under;	/* NULL: every attachment */

/* ---- the listening address ---------------------------------------------- */

static int parse_port(const char *s, in_port_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -1;
	*port = htons((uint16_t)v);
	return 0;
}

int metrics_http_parse(const char *arg, struct sockaddr_storage *addr,
		       socklen_t *len, struct mlb_err *err)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port;
	size_t n;

	memset(addr, 0, sizeof(*addr));
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		colon = close && close[1] == ':' ? close + 1 : NULL;
		n = close ? (size_t)(close - arg - 1) : 0;
		if (colon && n < sizeof(host)) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)addr;

			memcpy(host, arg + 1, n);
			host[n] = 0;
			port = colon + 1;
			a->sin6_family = AF_INET6;
			*len = sizeof(*a);
			if (inet_pton(AF_INET6, host, &a->sin6_addr) == 1 &&
			    !parse_port(port, &a->sin6_port))
				return 0;
		}
	} else if ((colon = strrchr(arg, ':')) &&
		   (n = (size_t)(colon - arg)) < sizeof(host)) {
		struct sockaddr_in *a = (struct sockaddr_in *)addr;

		memcpy(host, arg, n);
		host[n] = 0;
		a->sin_family = AF_INET;
		*len = sizeof(*a);
		if (inet_pton(AF_INET, host, &a->sin_addr) == 1 &&
		    !parse_port(colon + 1, &a->sin_port))
			return 0;
	}
	return mlb_fail(err, "--metrics-listen \"%s\" must be ADDR:PORT (an "
			"IPv4 address) or [ADDR]:PORT (an IPv6 address), "
			"port 1 to 65535", arg);
}

/* ---- one exchange -------------------------------------------------------- */

/* Queue a response of len bytes at body, which MHD frees with free()
 * when it owns it (must_free), else a static text. */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code,
			     const char *type, void *body, size_t len,
			     int must_free)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, must_free ? MHD_RESPMEM_MUST_FREE :
		MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r) {
		if (must_free)
			free(body);
		return MHD_NO;		/* MHD closes the connection */
	}
	/* One answer per connection, as a scrape needs: an idle kept-alive
	 * connection would only hold a slot. */
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) !=
	    MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close") !=
	    MHD_YES ||
	    (code == MHD_HTTP_METHOD_NOT_ALLOWED &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") !=
	     MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned code,
				  const char *text)
{
	return reply(conn, code, TEXT_TYPE, (void *)text, strlen(text), 0);
}

/* The metrics, gathered now; 500 with the reason if they cannot be. */
static enum MHD_Result reply_metrics(struct MHD_Connection *conn)
{
	char *body = NULL;
	size_t len = 0;
	struct mlb_err err;
	FILE *f = open_memstream(&body, &len);
	int ret;

	if (!f)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "out of memory\n");
	ret = metrics_write(f, serve_under, &err);
	if (fclose(f) && !ret)
		ret = mlb_fail(&err, "out of memory");
	if (ret) {
		char *line = NULL;

		free(body);
		if (asprintf(&line, "%s\n", err.msg) < 0)
			return MHD_NO;
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT_TYPE,
			     line, strlen(line), 1);
	}
	return reply(conn, MHD_HTTP_OK, EXPOSITION_TYPE, body, len, 1);
}

/* Called once the request line and headers are in (MHD has already
 * answered what it could not parse, or what did not fit).  HEAD gets
 * GET's headers without the body, from MHD.  The path excludes any query
 * string. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "only GET and HEAD\n");
	if (strcmp(url, "/metrics"))
		return reply_text(conn, MHD_HTTP_NOT_FOUND,
				  "not found: try /metrics\n");
	return reply_metrics(conn);
}

/* ---- the server ---------------------------------------------------------- */

/* The listening socket is ours, so that a bad address or a port in use
 * fails with the reason, as before MHD starts. */
static int listen_on(const char *arg, struct mlb_err *err)
{
	struct sockaddr_storage addr;
	socklen_t len;
	int fd, one = 1;

	if (metrics_http_parse(arg, &addr, &len, err))
		return -1;
	fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return mlb_fail(err, "--metrics-listen %s: %s", arg,
				strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&addr, len) || listen(fd, BACKLOG)) {
		int e = errno;

		close(fd);
		return mlb_fail(err, "--metrics-listen %s: %s", arg,
				strerror(e));
	}
	return fd;
}

int metrics_http_start(const char *arg, const char *under,
		       struct mlb_err *err)
{
	sigset_t all, old;
	int fd = listen_on(arg, err);

	if (fd < 0)
		return -1;
	serve_under = under ? strdup(under) : NULL;
	if (under && !serve_under) {
		close(fd);
		return mlb_fail(err, "out of memory");
	}
	/* The server's thread inherits a mask that blocks every signal, so
	 * SIGTERM and SIGHUP reach watch's loop, whose poll they wake. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	daemon_ = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
		on_request, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!daemon_) {
		close(fd);
		free(serve_under);
		serve_under = NULL;
		return mlb_fail(err, "--metrics-listen %s: the HTTP server "
				"did not start", arg);
	}
	return 0;
}

void metrics_http_stop(void)
{
	if (!daemon_)
		return;
	MHD_stop_daemon(daemon_);	/* joins its thread, closes the socket */
	daemon_ = NULL;
	free(serve_under);
	serve_under = NULL;
}
