/* route_nlconn.c - one rtnetlink conversation for the routing module
 * (see route_nlconn.h): a socket, requests acknowledged with the
 * kernel's own errno, and dumps parsed message by message.
 *
 * Dumps are parsed message by message (nl_msg_parse) rather than through
 * libnl caches: a cache merges objects with the same key, which would hide
 * e.g. a second default route appended with the same metric.
 *
 * Requests are acknowledged with the kernel's errno recorded by our own
 * error callback, so messages say "Network is unreachable" rather than
 * libnl's generic "Unspecific failure".
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "route_nlconn.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/rtnl.h>

static int record_kernel_error(struct sockaddr_nl *who, struct nlmsgerr *e,
			       void *arg)
{
	(void)who;
	*(int *)arg = -e->error;
	return NL_STOP;
}

int conn_open(struct nlconn *c, struct mlb_err *err)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->sk = nl_socket_alloc();
	if (!c->sk)
		return mlb_fail(err, "netlink: out of memory");
	ret = nl_connect(c->sk, NETLINK_ROUTE);
	if (ret < 0) {
		nl_socket_free(c->sk);
		c->sk = NULL;
		return mlb_fail(err, "connecting to rtnetlink: %s",
				nl_geterror(ret));
	}
	nl_socket_modify_err_cb(c->sk, NL_CB_CUSTOM, record_kernel_error,
				&c->kerr);
	return 0;
}

void conn_close(struct nlconn *c)
{
	nl_socket_free(c->sk);	/* also closes it */
	c->sk = NULL;
}

/* Why the last call failed: the kernel's own errno when it sent one. */
const char *conn_why(const struct nlconn *c)
{
	return c->kerr ? strerror(c->kerr) : nl_geterror(c->nlerr);
}

/* The object a delete asked for was not there (already removed, or its
 * table or interface went away, taking it along). */
bool conn_gone(const struct nlconn *c)
{
	if (c->kerr)
		return c->kerr == ENOENT || c->kerr == ESRCH;
	return c->nlerr == -NLE_OBJ_NOTFOUND;
}

/* Record the outcome of a libnl call; returns 0 or -1. */
int conn_result(struct nlconn *c, int ret)
{
	c->nlerr = ret < 0 ? ret : 0;
	return ret < 0 ? -1 : 0;
}

/* Send a request (consuming msg) and wait for the kernel's answer. */
int conn_request(struct nlconn *c, struct nl_msg *msg)
{
	int ret;

	c->kerr = 0;
	ret = nl_send_auto(c->sk, msg);
	nlmsg_free(msg);
	if (ret >= 0)
		ret = nl_wait_for_ack(c->sk);
	return conn_result(c, ret);
}

struct dump_ctx {
	object_fn fn;
	void *arg;
};

static void dump_object(struct nl_object *obj, void *arg)
{
	struct dump_ctx *d = arg;

	d->fn(obj, d->arg);
}

static int dump_message(struct nl_msg *msg, void *arg)
{
	nl_msg_parse(msg, dump_object, arg);
	return NL_OK;
}

/* Dump all objects of one kind (RTM_GETROUTE, RTM_GETRULE, RTM_GETADDR)
 * and one family, calling fn for each parsed object. */
int conn_dump(struct nlconn *c, int type, int family, object_fn fn,
	      void *arg)
{
	struct dump_ctx d = { .fn = fn, .arg = arg };
	struct nl_cb *sock_cb, *cb;
	int ret;

	c->kerr = 0;
	ret = nl_rtgen_request(c->sk, type, family, NLM_F_DUMP);
	if (ret < 0)
		return conn_result(c, ret);
	sock_cb = nl_socket_get_cb(c->sk);
	cb = nl_cb_clone(sock_cb);
	nl_cb_put(sock_cb);
	if (!cb)
		return conn_result(c, -NLE_NOMEM);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_message, &d);
	ret = nl_recvmsgs(c->sk, cb);
	nl_cb_put(cb);
	return conn_result(c, ret);
}

struct raw_ctx {
	raw_fn fn;
	void *arg;
};

static int raw_message(struct nl_msg *msg, void *arg)
{
	struct raw_ctx *r = arg;

	r->fn(nlmsg_hdr(msg), r->arg);
	return NL_OK;
}

/* Receive the answer to a dump request, each message to fn. */
static int recv_raw(struct nlconn *c, raw_fn fn, void *arg)
{
	struct raw_ctx r = { .fn = fn, .arg = arg };
	struct nl_cb *sock_cb, *cb;
	int ret;

	sock_cb = nl_socket_get_cb(c->sk);
	cb = nl_cb_clone(sock_cb);
	nl_cb_put(sock_cb);
	if (!cb)
		return conn_result(c, -NLE_NOMEM);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, raw_message, &r);
	ret = nl_recvmsgs(c->sk, cb);
	nl_cb_put(cb);
	return conn_result(c, ret);
}

int conn_dump_raw(struct nlconn *c, int type, int family, raw_fn fn,
		  void *arg)
{
	int ret;

	c->kerr = 0;
	ret = nl_rtgen_request(c->sk, type, family, NLM_F_DUMP);
	if (ret < 0)
		return conn_result(c, ret);
	return recv_raw(c, fn, arg);
}

int conn_dump_routes(struct nlconn *c, int family, unsigned char protocol,
		     raw_fn fn, void *arg)
{
	struct rtmsg rtm = { .rtm_family = (unsigned char)family,
			     .rtm_protocol = protocol };
	int fd = nl_socket_get_fd(c->sk), on = 1, off = 0, ret;
	struct nl_msg *msg;

	c->kerr = 0;
	msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP);
	if (!msg)
		return conn_result(c, -NLE_NOMEM);
	if (nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return conn_result(c, -NLE_NOMEM);
	}
	/* Only with strict checking does the kernel filter by protocol
	 * (and only then it wants a whole rtmsg); without it, as before
	 * Linux 4.20, every route comes and fn sorts them out. */
	setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof(on));
	ret = nl_send_auto(c->sk, msg);
	nlmsg_free(msg);
	if (ret >= 0)
		ret = recv_raw(c, fn, arg) ? c->nlerr : 0;
	setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &off, sizeof(off));
	return conn_result(c, ret < 0 ? ret : 0);
}
