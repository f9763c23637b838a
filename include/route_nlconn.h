/* route_nlconn.h - one rtnetlink conversation (route_nlconn.c): a
 * socket, requests acknowledged with the kernel's own errno, and dumps
 * handed over object by object or message by message.  It knows nothing
 * of attachments: route.c and route_reconcile.c talk through it.
 */
#ifndef MLB_ROUTE_NLCONN_H
#define MLB_ROUTE_NLCONN_H

#include <stdbool.h>
#include <linux/netlink.h>

#include "error.h"

struct nl_msg;

struct nlconn {
	struct nl_sock *sk;
	int kerr;		/* errno of the kernel's NLMSG_ERROR, or 0 */
	int nlerr;		/* libnl error code of the last call, or 0 */
};

int conn_open(struct nlconn *c, struct mlb_err *err);
void conn_close(struct nlconn *c);
/* Why the last call failed: the kernel's own errno when it sent one. */
const char *conn_why(const struct nlconn *c);
/* The object a delete asked for was not there. */
bool conn_gone(const struct nlconn *c);
/* Record the outcome of a libnl call; returns 0 or -1. */
int conn_result(struct nlconn *c, int ret);
/* Send a request (consuming msg) and wait for the kernel's answer. */
int conn_request(struct nlconn *c, struct nl_msg *msg);

/* Dump all objects of one kind (RTM_GETROUTE, RTM_GETRULE, RTM_GETADDR)
 * and one family, calling fn for each object libnl parsed. */
struct nl_object;
typedef void (*object_fn)(struct nl_object *obj, void *arg);
int conn_dump(struct nlconn *c, int type, int family, object_fn fn,
	      void *arg);

/* Dump all objects of one kind and family, calling fn with each message
 * as the kernel sent it (for what libnl does not parse, and to send an
 * object back exactly as it is). */
typedef void (*raw_fn)(const struct nlmsghdr *h, void *arg);
int conn_dump_raw(struct nlconn *c, int type, int family, raw_fn fn,
		  void *arg);
/* The routes of one family, those of one protocol only where the kernel
 * can filter (fn must still check). */
int conn_dump_routes(struct nlconn *c, int family, unsigned char protocol,
		     raw_fn fn, void *arg);

#endif
