/* crr_server.c - crr's server: TCP or UDP, one byte answered per
 * request (for UDP from the arrival address with --pktinfo), or an echo
 * per connection; it counts requests per peer (see crr.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crr.h"

static volatile sig_atomic_t stop_requested, report_requested;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report_requested = 1;
	else
		stop_requested = 1;
}

struct server {
	int fd;
	bool udp, echo, pktinfo;
	struct tally peers;	/* per thread */
};

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message. */
union pktinfo_control {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct cmsghdr align;
};

/* --pktinfo: receive one datagram and reply from the address it was sent
 * to (not the source a route lookup would pick); -1 if none came. */
static int udp_reply_from_arrival(int fd, union sockaddr_any *peer)
{
	union pktinfo_control in, out;
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_name = peer, .msg_namelen = sizeof(*peer),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = in.buf, .msg_controllen = sizeof(in.buf),
	};
	struct msghdr reply = {
		.msg_name = peer, .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = out.buf,
	};
	struct cmsghdr *cm, *o = (struct cmsghdr *)(void *)out.buf;

	if (recvmsg(fd, &msg, MSG_DONTWAIT) < 0)
		return -1;
	reply.msg_namelen = msg.msg_namelen;
	memset(&out, 0, sizeof(out));
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo got, send = { 0 };

			memcpy(&got, CMSG_DATA(cm), sizeof(got));
			send.ipi_spec_dst = got.ipi_addr;  /* no device forced */
			o->cmsg_len = CMSG_LEN(sizeof(send));
			memcpy(CMSG_DATA(o), &send, sizeof(send));
			reply.msg_controllen = CMSG_SPACE(sizeof(send));
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo got, send = { 0 };

			memcpy(&got, CMSG_DATA(cm), sizeof(got));
			send.ipi6_addr = got.ipi6_addr;
			o->cmsg_len = CMSG_LEN(sizeof(send));
			memcpy(CMSG_DATA(o), &send, sizeof(send));
			reply.msg_controllen = CMSG_SPACE(sizeof(send));
		} else {
			continue;
		}
		o->cmsg_level = cm->cmsg_level;
		o->cmsg_type = cm->cmsg_type;
		break;
	}
	if (!reply.msg_controllen)
		reply.msg_control = NULL;
	sendmsg(fd, &reply, 0);
	return 0;
}

/* --echo: one thread per connection, echoing until EOF or stop. */
static void *echo_connection(void *arg)
{
	int c = (int)(intptr_t)arg;
	struct pollfd cp = { .fd = c, .events = POLLIN };
	char buf[256];

	while (!stop_requested) {
		ssize_t r;

		if (poll(&cp, 1, 100) <= 0)
			continue;
		r = read(c, buf, sizeof(buf));
		if (r <= 0 || write(c, buf, (size_t)r) != r)
			break;
	}
	close(c);
	return NULL;
}

static void *serve(void *arg)
{
	struct server *s = arg;
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	char byte;

	while (!stop_requested) {
		union sockaddr_any peer;
		socklen_t len = sizeof(peer);

		/* Wake up now and then to see a signal's flag. */
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (s->udp && s->pktinfo) {
			if (udp_reply_from_arrival(s->fd, &peer) < 0)
				continue;
		} else if (s->udp) {
			ssize_t r = recvfrom(s->fd, &byte, 1, MSG_DONTWAIT,
					     &peer.sa, &len);
			if (r < 0)
				continue;
			sendto(s->fd, &byte, 1, 0, &peer.sa, len);
		} else {
			int c = accept4(s->fd, &peer.sa, &len, SOCK_NONBLOCK);
			if (c < 0)
				continue;
			struct pollfd cp = { .fd = c, .events = POLLIN };

			if (s->echo) {
				pthread_t t;

				if (pthread_create(&t, NULL, echo_connection,
						   (void *)(intptr_t)c) == 0)
					pthread_detach(t);
				else
					close(c);
				tally_add(&s->peers, addr_key(&peer), 1);
				continue;
			}
			if (poll(&cp, 1, 2000) > 0 && read(c, &byte, 1) == 1 &&
			    write(c, &byte, 1) == 1) {
				/* served */
			}
			close(c);
		}
		tally_add(&s->peers, addr_key(&peer), 1);
	}
	return NULL;
}

static int compare_entries(const void *a, const void *b)
{
	return compare_keys(a, b);
}

/* Peers in address order, "ADDR COUNT" each. */
static void write_report(const char *path, struct server *servers, int n)
{
	struct tally all = { 0 };
	struct {
		struct key key;		/* first: compare_entries */
		uint64_t count;
	} entries[MAX_KEYS];
	FILE *f = path ? fopen(path, "w") : stdout;

	if (!f) {
		fprintf(stderr, "crr: %s: %s\n", path, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++)
		tally_merge(&all, &servers[i].peers);
	for (unsigned i = 0; i < all.n; i++) {
		entries[i].key = all.key[i];
		entries[i].count = all.count[i];
	}
	qsort(entries, all.n, sizeof(entries[0]), compare_entries);
	for (unsigned i = 0; i < all.n; i++) {
		char addr[INET6_ADDRSTRLEN];

		fprintf(f, "%s %llu\n", key_addr(&entries[i].key, addr),
			(unsigned long long)entries[i].count);
	}
	if (path)
		fclose(f);
	else
		fflush(f);
}

int run_server(const union sockaddr_any *listen_at, bool udp, bool pktinfo,
	       bool echo, int threads, const char *report)
{
	static struct server servers[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	struct sigaction sa = { .sa_handler = on_signal };
	bool v6 = listen_at->sa.sa_family == AF_INET6;
	uint32_t mark = 0;
	socklen_t mlen = sizeof(mark);
	int one = 1, fd;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	fd = socket(listen_at->sa.sa_family,
		    (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			      sizeof(one))) ||
	    (pktinfo && !v6 &&
	     setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one))) ||
	    (pktinfo && v6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
			sizeof(one))) ||
	    bind(fd, &listen_at->sa, sockaddr_len(listen_at)) ||
	    (!udp && listen(fd, 4096))) {
		fprintf(stderr, "crr: listen: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < threads; i++) {
		servers[i].fd = fd;
		servers[i].udp = udp;
		servers[i].echo = echo;
		servers[i].pktinfo = pktinfo;
		pthread_create(&tids[i], NULL, serve, &servers[i]);
	}
	getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &mlen);
	printf("ready mark 0x%x\n", mark);
	fflush(stdout);
	while (!stop_requested) {
		usleep(50000);
		if (report_requested) {
			report_requested = 0;
			write_report(report, servers, threads);
		}
	}
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	write_report(report, servers, threads);
	close(fd);
	return 0;
}
