/* metrics_http.c - GET /metrics inside watch's poll loop (see
 * metrics_http.h).  Nothing here may block watch: every socket is
 * non-blocking, a request is read into a fixed buffer, and a connection
 * that is slow to ask or to read its answer is closed at its deadline. */
#define _GNU_SOURCE	/* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "metrics_http.h"

#define MAX_CLIENTS (METRICS_HTTP_MAX_FDS - 1)
#define REQUEST_MAX 4096		/* request line and headers */
#define DEADLINE_US 5000000		/* to ask, and to read the answer */

struct client {
	int fd;				/* -1: a free slot */
	uint64_t deadline_us;
	char request[REQUEST_MAX];
	size_t got;
	char *answer;			/* once answered: what is sent */
	size_t len, sent;
};

static int listen_fd = -1;
static const char *serve_under;
static struct client clients[MAX_CLIENTS];
/* Which client each descriptor of the last metrics_http_fds belongs to
 * (-1: the listening socket). */
static int owner[METRICS_HTTP_MAX_FDS];

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

int metrics_http_start(const char *arg, const char *under,
		       struct mlb_err *err)
{
	struct sockaddr_storage addr;
	socklen_t len;
	int one = 1;

	if (metrics_http_parse(arg, &addr, &len, err))
		return -1;
	listen_fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			   SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		return mlb_fail(err, "--metrics-listen %s: %s", arg,
				strerror(errno));
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(listen_fd, (struct sockaddr *)&addr, len) ||
	    listen(listen_fd, 16)) {
		int e = errno;

		close(listen_fd);
		listen_fd = -1;
		return mlb_fail(err, "--metrics-listen %s: %s", arg,
				strerror(e));
	}
	serve_under = under;
	for (unsigned c = 0; c < MAX_CLIENTS; c++)
		clients[c].fd = -1;
	return 0;
}

static void drop(struct client *c)
{
	close(c->fd);
	free(c->answer);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void metrics_http_stop(void)
{
	if (listen_fd < 0)
		return;
	for (unsigned c = 0; c < MAX_CLIENTS; c++)
		if (clients[c].fd >= 0)
			drop(&clients[c]);
	close(listen_fd);
	listen_fd = -1;
}

/* ---- one exchange -------------------------------------------------------- */

/* Build the whole answer (headers and body) for the client. */
static void answer(struct client *c, int code, const char *reason,
		   const char *type, const char *body, size_t body_len,
		   bool head)
{
	FILE *f = open_memstream(&c->answer, &c->len);

	if (!f) {
		c->answer = NULL;
		c->len = 0;
		return;
	}
	fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		"Content-Length: %zu\r\nConnection: close\r\n%s\r\n", code,
		reason, type, body_len, code == 405 ? "Allow: GET, HEAD\r\n" :
		"");
	if (!head)
		fwrite(body, 1, body_len, f);
	fclose(f);
}

static void answer_text(struct client *c, int code, const char *reason,
			const char *text)
{
	answer(c, code, reason, "text/plain; charset=utf-8", text,
	       strlen(text), false);
}

/* The request is complete: decide what it gets. */
static void respond(struct client *c)
{
	char method[16], target[256], version[16];
	bool head;

	if (sscanf(c->request, "%15s %255s %15s", method, target,
		   version) != 3 || strncmp(version, "HTTP/1.", 7)) {
		answer_text(c, 400, "Bad Request", "bad request\n");
		return;
	}
	head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET")) {
		answer_text(c, 405, "Method Not Allowed",
			    "only GET and HEAD\n");
		return;
	}
	if (strcmp(target, "/metrics") && strncmp(target, "/metrics?", 9)) {
		answer_text(c, 404, "Not Found", "not found: try /metrics\n");
		return;
	}

	char *body = NULL;
	size_t len = 0;
	struct mlb_err err;
	FILE *f = open_memstream(&body, &len);
	int ret;

	if (!f) {
		answer_text(c, 500, "Internal Server Error", "out of memory\n");
		return;
	}
	ret = metrics_write(f, serve_under, &err);
	fclose(f);
	if (ret) {
		char line[sizeof(err.msg) + 1];

		snprintf(line, sizeof(line), "%s\n", err.msg);
		answer_text(c, 500, "Internal Server Error", line);
	} else {
		answer(c, 200, "OK", "text/plain; version=0.0.4; "
		       "charset=utf-8", body, len, head);
	}
	free(body);
}

/* Read what arrived; answer once the headers are complete (or too
 * long).  Returns false when the connection is to be closed. */
static bool receive(struct client *c, uint64_t now_us)
{
	for (;;) {
		ssize_t r = recv(c->fd, c->request + c->got,
				 sizeof(c->request) - 1 - c->got, 0);

		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ||
			       errno == EINTR;
		if (r == 0)
			return false;		/* gone before asking */
		c->got += (size_t)r;
		c->request[c->got] = 0;
		/* a NUL ends the text early: what follows is not looked at */
		if (memchr(c->request, 0, c->got) ||
		    memmem(c->request, c->got, "\r\n\r\n", 4) ||
		    memmem(c->request, c->got, "\n\n", 2))
			break;
		if (c->got == sizeof(c->request) - 1) {
			answer_text(c, 431, "Request Header Fields Too Large",
				    "request too large\n");
			c->deadline_us = now_us + DEADLINE_US;
			return c->answer != NULL;
		}
	}
	respond(c);
	c->deadline_us = now_us + DEADLINE_US;
	return c->answer != NULL;
}

/* Send what the socket takes; false when done (or failed). */
static bool transmit(struct client *c)
{
	while (c->sent < c->len) {
		ssize_t w = send(c->fd, c->answer + c->sent,
				 c->len - c->sent, MSG_NOSIGNAL);

		if (w < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ||
			       errno == EINTR;
		c->sent += (size_t)w;
	}
	return false;
}

/* ---- the poll loop's side ------------------------------------------------ */

nfds_t metrics_http_fds(struct pollfd *fds, uint64_t *wake_us)
{
	nfds_t n = 0;

	if (listen_fd < 0)
		return 0;
	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd < 0)
			continue;
		if (c->deadline_us < *wake_us)
			*wake_us = c->deadline_us;
		owner[n] = (int)i;
		fds[n++] = (struct pollfd){
			.fd = c->fd, .events = c->answer ? POLLOUT : POLLIN,
		};
	}
	owner[n] = -1;
	fds[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
	return n;
}

/* A slot for a new connection: a free one, else the oldest connection
 * that has not asked yet (then the oldest of all), closed.  Connections
 * that never ask cannot keep a scraper out for long. */
static struct client *slot(void)
{
	struct client *oldest = NULL;

	for (unsigned i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd < 0)
			return c;
		if (!oldest || (!c->answer && oldest->answer) ||
		    (!c->answer == !oldest->answer &&
		     c->deadline_us < oldest->deadline_us))
			oldest = c;
	}
	drop(oldest);
	return oldest;
}

static void accept_new(uint64_t now_us)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (fd < 0)
			return;
		c = slot();
		c->fd = fd;
		c->deadline_us = now_us + DEADLINE_US;
	}
}

void metrics_http_serve(const struct pollfd *fds, nfds_t n, uint64_t now_us)
{
	for (nfds_t k = 0; k < n; k++) {
		struct client *c;
		bool keep = true;

		if (owner[k] < 0) {
			if (fds[k].revents & POLLIN)
				accept_new(now_us);
			continue;
		}
		c = &clients[owner[k]];
		if (fds[k].revents & (POLLERR | POLLHUP | POLLNVAL) &&
		    !(fds[k].revents & POLLIN))
			keep = false;
		else if (!c->answer && fds[k].revents & POLLIN)
			keep = receive(c, now_us);
		if (keep && c->answer)
			keep = transmit(c);
		if (!keep || now_us >= c->deadline_us)
			drop(c);
	}
}
