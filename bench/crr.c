/* crr.c - connect/request/response traffic for mlb-bpf's tests and
 * benchmark: every transaction is a new socket (like netperf TCP_CRR), so
 * every transaction is one balancing decision.  This file is the command
 * line, the client and the socket makers; crr_server.c serves and
 * crr_tally.c counts (crr.h).
 *
 *   crr server --listen ADDR:PORT [--udp [--pktinfo]] [--threads N]
 *              [--report FILE]
 *   crr client --connect ADDR:PORT [--udp | --sendto | --ping | --raw]
 *              [--count N | --duration S]
 *              [--threads T] [--bind ADDR] [--device IFACE] [--report]
 *              [--rst] [--timeout S]
 *   crr sockets --count N | --duration S [--threads T] [--to CIDR]
 *   crr hold --connect ADDR:PORT --count N --duration S [--bind ADDR]
 *   crr marks --duration S [--every MS]
 *
 * ADDR:PORT is IPv4 (192.0.2.1:80) or IPv6 ([2001:db8::1]:80, brackets
 * optional); an IPv6 listener takes IPv6 peers only, so [::] and 0.0.0.0
 * can listen on one port side by side.
 * `marks` makes one socket every MS milliseconds (default 10) for S
 * seconds and prints "SECONDS MARK" for each, SECONDS in wall-clock time,
 * to time a failover against a fault injected at a known time.
 * `hold` opens N long-lived connections to a `server --echo` and pings
 * each every 100 ms for S seconds; it prints one line per connection:
 * "conn I local ADDR mark 0xM ok|broken".
 * `sockets` only creates and closes sockets (the balancing decision and
 * nothing else), N of them or for S seconds, and prints "sockets N",
 * "failures N", "seconds S", "rate R" and the marks they got: "mark 0xM
 * COUNT".  With --to CIDR each socket is a UDP socket connect()ed to the
 * next address of the IPv4 range (a route lookup, no packet sent).
 * The server prints "ready mark 0xM" (the listening socket's mark) once
 * it listens, counts requests per peer address and writes them ("ADDR
 * COUNT" lines) on SIGTERM/SIGINT, or on SIGUSR1 without exiting.  A UDP
 * server replies with sendto() from whatever source its route lookup
 * picks; with --pktinfo it replies from the address the datagram came to
 * (IP_PKTINFO / IPV6_PKTINFO), as DNS servers do.  The client prints
 * "transactions N", "failures N", "seconds S", "rate R" and, with
 * --report, "local ADDR COUNT" and "mark 0xM COUNT" lines.  --timeout S
 * bounds connect() and the wait for each reply (default: the reply 1 s,
 * connect() the kernel's SYN retries).  --sendto sends each request on
 * an unconnected UDP socket (a route lookup per datagram); --ping and
 * --raw send an ICMP echo (PORT, 1..65535, ignored) on a ping socket (SOCK_DGRAM,
 * net.ipv4.ping_group_range must allow the group) or a raw socket.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "crr.h"

/* ---- client ---------------------------------------------------------- */

struct client {
	union sockaddr_any server;
	union sockaddr_any bind_to;
	char device[IFNAMSIZ];	/* SO_BINDTODEVICE; "": none */
	bool udp, bind, rst;
	enum crr_kind kind;
	struct timeval timeout;	/* --timeout: connect() and each reply */
	uint64_t count;		/* transactions for this thread, 0: by time */
	double deadline;
	uint64_t done, failed;
	struct tally locals, marks;
	char first_error[160];
};

static void note_error(struct client *c, const char *what)
{
	struct key server = addr_key(&c->server);
	bool v6 = server.family == AF_INET6;
	char addr[INET6_ADDRSTRLEN];

	c->failed++;
	if (c->first_error[0])
		return;
	snprintf(c->first_error, sizeof(c->first_error), "%s %s%s%s:%u: %s",
		 what, v6 ? "[" : "", key_addr(&server, addr), v6 ? "]" : "",
		 ntohs(v6 ? c->server.in6.sin6_port : c->server.in.sin_port),
		 strerror(errno));
}

/* One transaction on a new socket; true on success. */
static bool transact(struct client *c)
{
	union sockaddr_any local;
	socklen_t len = sizeof(local);
	struct timeval timeout = { .tv_sec = 1 };
	uint32_t mark = 0;
	socklen_t mlen = sizeof(mark);
	char byte = 'x';

	if (c->timeout.tv_sec || c->timeout.tv_usec)
		timeout = c->timeout;
	bool ok = false;
	int fd;

	if (c->kind > CRR_UDP)
		fd = dgram_socket(c->server.sa.sa_family, c->kind);
	else
		fd = socket(c->server.sa.sa_family,
			    c->udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (fd < 0) {
		note_error(c, "socket");
		return false;
	}
	getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &mlen);
	tally_add(&c->marks, mark_key(mark), 1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	/* a blocking connect() waits at most the send timeout */
	if (c->timeout.tv_sec || c->timeout.tv_usec)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout,
			   sizeof(timeout));
	if (c->bind && bind(fd, &c->bind_to.sa, sockaddr_len(&c->bind_to))) {
		note_error(c, "bind");
		goto out;
	}
	if (c->device[0] &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->device,
		       (socklen_t)strlen(c->device))) {
		note_error(c, "SO_BINDTODEVICE");
		goto out;
	}
	if (c->kind > CRR_UDP) {
		if (dgram_transact(fd, c->kind, &c->server, (uint16_t)c->done))
			note_error(c, "exchange with");
		else
			ok = true;
		goto out;
	}
	if (connect(fd, &c->server.sa, sockaddr_len(&c->server))) {
		note_error(c, "connect");
		goto out;
	}
	if (getsockname(fd, &local.sa, &len) == 0)
		tally_add(&c->locals, addr_key(&local), 1);
	if (write(fd, &byte, 1) != 1) {
		note_error(c, "send to");
		goto out;
	}
	if (read(fd, &byte, 1) != 1) {
		note_error(c, "reply from");
		goto out;
	}
	ok = true;
out:
	if (c->rst) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
	return ok;
}

static void *client_thread(void *arg)
{
	struct client *c = arg;

	while (c->count ? c->done < c->count : now() < c->deadline) {
		transact(c);
		c->done++;
	}
	return NULL;
}

static void print_tally(const char *label, const struct tally *t, bool addr)
{
	for (unsigned i = 0; i < t->n; i++) {
		char buf[INET6_ADDRSTRLEN];

		if (addr)
			printf("%s %s %llu\n", label, key_addr(&t->key[i], buf),
			       (unsigned long long)t->count[i]);
		else
			printf("%s 0x%x %llu\n", label, t->key[i].mark,
			       (unsigned long long)t->count[i]);
	}
}

static int run_client(struct client *proto, uint64_t count, double duration,
		      int threads, bool report)
{
	static struct client clients[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	struct tally locals = { 0 }, marks = { 0 };
	uint64_t done = 0, failed = 0;
	const char *error = NULL;
	double start = now(), seconds;

	for (int i = 0; i < threads; i++) {
		clients[i] = *proto;
		clients[i].count = count ? count / threads +
				   ((uint64_t)i < count % threads) : 0;
		clients[i].deadline = start + duration;
		pthread_create(&tids[i], NULL, client_thread, &clients[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		done += clients[i].done;
		failed += clients[i].failed;
		tally_merge(&locals, &clients[i].locals);
		tally_merge(&marks, &clients[i].marks);
		if (!error && clients[i].first_error[0])
			error = clients[i].first_error;
	}
	seconds = now() - start;
	printf("transactions %llu\nfailures %llu\nseconds %.3f\nrate %.1f\n",
	       (unsigned long long)done, (unsigned long long)failed, seconds,
	       seconds > 0 ? (double)done / seconds : 0.0);
	if (report) {
		print_tally("local", &locals, true);
		print_tally("mark", &marks, false);
	}
	if (error)
		fprintf(stderr, "crr: %s (%llu failures)\n", error,
			(unsigned long long)failed);
	return failed ? 1 : 0;
}

/* ---- long-lived connections ------------------------------------------- */

#define MAX_HELD 64

static int run_hold(const union sockaddr_any *server,
		    const union sockaddr_any *bind_to, uint64_t count,
		    double duration)
{
	int fds[MAX_HELD];
	bool broken[MAX_HELD] = { false };
	uint32_t marks[MAX_HELD];
	union sockaddr_any locals[MAX_HELD];
	struct timeval timeout = { .tv_sec = 1 };
	double end;

	if (count > MAX_HELD)
		count = MAX_HELD;
	for (uint64_t i = 0; i < count; i++) {
		socklen_t len = sizeof(marks[i]);

		fds[i] = socket(server->sa.sa_family, SOCK_STREAM, 0);
		marks[i] = 0;
		memset(&locals[i], 0, sizeof(locals[i]));
		if (fds[i] < 0) {
			broken[i] = true;
			continue;
		}
		getsockopt(fds[i], SOL_SOCKET, SO_MARK, &marks[i], &len);
		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &timeout,
			   sizeof(timeout));
		if ((bind_to &&
		     bind(fds[i], &bind_to->sa, sockaddr_len(bind_to))) ||
		    connect(fds[i], &server->sa, sockaddr_len(server))) {
			broken[i] = true;
			continue;
		}
		len = sizeof(locals[i]);
		getsockname(fds[i], &locals[i].sa, &len);
	}
	printf("ready\n");
	fflush(stdout);
	end = now() + duration;
	while (now() < end) {
		for (uint64_t i = 0; i < count; i++) {
			char byte = 'p';

			if (broken[i])
				continue;
			if (write(fds[i], &byte, 1) != 1 ||
			    read(fds[i], &byte, 1) != 1)
				broken[i] = true;
		}
		usleep(100000);
	}
	for (uint64_t i = 0; i < count; i++) {
		struct key local = addr_key(&locals[i]);
		char addr[INET6_ADDRSTRLEN];

		printf("conn %llu local %s mark 0x%x %s\n",
		       (unsigned long long)i, key_addr(&local, addr),
		       marks[i], broken[i] ? "broken" : "ok");
		if (fds[i] >= 0)
			close(fds[i]);
	}
	return 0;
}

/* ---- marks over time --------------------------------------------------- */

static int run_marks(double duration, unsigned every_ms)
{
	double end = now() + duration;

	while (now() < end) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		uint32_t mark = 0;
		socklen_t len = sizeof(mark);
		struct timespec wall;

		if (fd >= 0) {
			getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len);
			close(fd);
		}
		clock_gettime(CLOCK_REALTIME, &wall);
		printf("%lld.%06ld 0x%x\n", (long long)wall.tv_sec,
		       wall.tv_nsec / 1000, mark);
		usleep(every_ms * 1000);
	}
	return 0;
}

/* ---- sockets only ----------------------------------------------------- */

/* --to CIDR: each socket connect()s (UDP: a route lookup, no packet) to
 * the next address of the range, so the connect hooks see as many
 * distinct destinations as the range holds. */
struct dest_range {
	uint32_t base;			/* host byte order */
	uint32_t size;			/* addresses; 0: no connect */
};

struct creator {
	uint64_t count;			/* sockets to make, 0: until deadline */
	double deadline;
	struct dest_range to;
	uint32_t next_dest;		/* offset in the range */
	uint64_t made, failed;
	struct tally marks;
};

static void *create_sockets(void *arg)
{
	struct creator *c = arg;

	for (uint64_t i = 0; c->count ? i < c->count :
	     ((i & 255) || now() < c->deadline); i++) {
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		uint32_t mark = 0;
		socklen_t len = sizeof(mark);

		if (fd < 0) {
			c->failed++;
			continue;
		}
		getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len);
		tally_add(&c->marks, mark_key(mark), 1);
		c->made++;
		if (c->to.size) {
			struct sockaddr_in dst = {
				.sin_family = AF_INET,
				.sin_port = htons(9),
				.sin_addr.s_addr = htonl(c->to.base +
							 c->next_dest),
			};

			if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)))
				c->failed++;
			c->next_dest = (c->next_dest + 1) % c->to.size;
		}
		close(fd);
	}
	return NULL;
}

/* "A.B.C.D/LEN" (LEN 8..32); 0 or -1. */
static int parse_range(const char *arg, struct dest_range *r)
{
	char host[INET_ADDRSTRLEN];
	const char *slash = strchr(arg, '/');
	struct in_addr a;
	int len;

	if (!slash || (size_t)(slash - arg) >= sizeof(host))
		return -1;
	memcpy(host, arg, (size_t)(slash - arg));
	host[slash - arg] = 0;
	len = atoi(slash + 1);
	if (inet_pton(AF_INET, host, &a) != 1 || len < 8 || len > 32)
		return -1;
	r->size = (uint32_t)(1ULL << (32 - len));
	r->base = ntohl(a.s_addr) & ~(r->size - 1);
	return 0;
}

static int run_sockets(uint64_t count, double duration, int threads,
		       const struct dest_range *to)
{
	static struct creator creators[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	struct tally marks = { 0 };
	uint64_t made = 0, failed = 0;
	double start = now(), seconds;

	for (int i = 0; i < threads; i++) {
		creators[i].count = count ? count / threads +
				    ((uint64_t)i < count % threads) : 0;
		creators[i].deadline = start + duration;
		creators[i].to = *to;
		/* threads start apart in the range, so that together they
		 * go through it in step rather than all on one address */
		creators[i].next_dest = to->size ? (uint32_t)
			((uint64_t)to->size * (uint64_t)i / (uint64_t)threads) : 0;
		pthread_create(&tids[i], NULL, create_sockets, &creators[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		made += creators[i].made;
		failed += creators[i].failed;
		tally_merge(&marks, &creators[i].marks);
	}
	seconds = now() - start;
	printf("sockets %llu\nfailures %llu\nseconds %.3f\nrate %.1f\n",
	       (unsigned long long)made, (unsigned long long)failed, seconds,
	       seconds > 0 ? (double)made / seconds : 0.0);
	print_tally("mark", &marks, false);
	return failed ? 1 : 0;
}

/* ---- command line ---------------------------------------------------- */

static const char usage[] =
"Usage: crr server --listen ADDR:PORT [--udp [--pktinfo]] [--threads N]\n"
"                  [--report FILE]\n"
"       crr client --connect ADDR:PORT [--udp | --sendto | --ping | --raw]\n"
"                  [--count N | --duration S]\n"
"                  [--threads T] [--bind ADDR] [--device IFACE]\n"
"                  [--report] [--rst] [--timeout S]\n"
"       crr sockets --count N | --duration S [--threads T] [--to CIDR]\n"
"       crr hold --connect ADDR:PORT --count N --duration S [--bind ADDR]\n"
"       crr marks --duration S [--every MS]\n"
"\n"
"Connect/request/response traffic: each transaction is a new socket, one\n"
"byte each way.  The server prints \"ready mark 0xM\" (its socket's mark),\n"
"counts requests per peer address and writes them on SIGTERM (or\n"
"SIGUSR1); a --udp --pktinfo server replies from the address each\n"
"datagram came to.  The client prints transactions, failures, seconds and\n"
"rate, and with --report the local addresses and socket marks it got;\n"
"--timeout S bounds connect() and each reply (default: reply 1 s).\n"
"--sendto: unconnected UDP (sendto, a route lookup per datagram); --ping,\n"
"--raw: an ICMP echo (PORT ignored) on a ping socket (needs\n"
"net.ipv4.ping_group_range) or a raw socket.\n"
"ADDR:PORT is IPv4 or IPv6 ([2001:db8::1]:80).  Exit status: 0 ok, 1 some\n"
"transaction failed, 2 bad usage.\n";

static int bad_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "crr: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "udp", no_argument, NULL, 'u' },
		{ "sendto", no_argument, NULL, 'S' },
		{ "ping", no_argument, NULL, 'I' },
		{ "raw", no_argument, NULL, 'W' },
		{ "threads", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "bind", required_argument, NULL, 'b' },
		{ "device", required_argument, NULL, 'D' },
		{ "report", optional_argument, NULL, 'r' },
		{ "rst", no_argument, NULL, 'R' },
		{ "echo", no_argument, NULL, 'e' },
		{ "every", required_argument, NULL, 'E' },
		{ "pktinfo", no_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "to", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct client proto = { 0 };
	struct dest_range to = { 0 };
	const char *mode, *report_file = NULL, *addr = NULL;
	bool report = false, echo = false, pktinfo = false;
	unsigned every_ms = 10;
	uint64_t count = 0;
	double duration = 0;
	int threads = 1, c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	mode = argv[1];
	if (strcmp(mode, "server") && strcmp(mode, "client") &&
	    strcmp(mode, "sockets") && strcmp(mode, "hold") &&
	    strcmp(mode, "marks"))
		return bad_usage("unknown mode", mode);
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
		case 'c':
			addr = optarg;
			break;
		case 'u':
			proto.udp = true;
			proto.kind = CRR_UDP;
			break;
		case 'S':
			proto.udp = true;
			proto.kind = CRR_SENDTO;
			break;
		case 'I':
			proto.kind = CRR_PING;
			break;
		case 'W':
			proto.kind = CRR_RAW;
			break;
		case 't':
			threads = atoi(optarg);
			if (threads < 1 || threads > MAX_THREADS)
				return bad_usage("--threads must be 1..64", NULL);
			break;
		case 'n':
			count = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'b':
			proto.bind = true;
			if (parse_addr(optarg, &proto.bind_to))
				return bad_usage("bad --bind address", optarg);
			break;
		case 'r':
			report = true;
			if (optarg)
				report_file = optarg;
			else if (optind < argc && argv[optind][0] != '-' &&
				 !strcmp(mode, "server"))
				report_file = argv[optind++];
			break;
		case 'D':
			if (strlen(optarg) >= sizeof(proto.device))
				return bad_usage("bad --device name", optarg);
			strcpy(proto.device, optarg);
			break;
		case 'R':
			proto.rst = true;
			break;
		case 'e':
			echo = true;
			break;
		case 'E':
			every_ms = (unsigned)atoi(optarg);
			if (every_ms < 1 || every_ms > 10000)
				return bad_usage("--every must be 1..10000 ms",
						 NULL);
			break;
		case 'P':
			pktinfo = true;
			break;
		case 'T': {
			double t = atof(optarg);

			if (t <= 0 || t > 3600)
				return bad_usage("--timeout must be 0..3600 s",
						 NULL);
			proto.timeout.tv_sec = (time_t)t;
			proto.timeout.tv_usec =
				(suseconds_t)((t - (double)(time_t)t) * 1e6);
			break;
		}
		case 'o':
			if (parse_range(optarg, &to))
				return bad_usage("bad --to range (A.B.C.D/8..32)",
						 optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return 2;
		}
	}
	if (!strcmp(mode, "marks")) {
		if (duration <= 0)
			return bad_usage("give --duration S", NULL);
		return run_marks(duration, every_ms);
	}
	if (!strcmp(mode, "sockets")) {
		if (!count && duration <= 0)
			return bad_usage("give --count N or --duration S", NULL);
		return run_sockets(count, duration, threads, &to);
	}
	if (!addr || parse_addr_port(addr, &proto.server))
		return bad_usage("give ADDR:PORT or [ADDR6]:PORT with --listen "
				 "or --connect", addr);
	if (proto.bind &&
	    proto.bind_to.sa.sa_family != proto.server.sa.sa_family)
		return bad_usage("--bind and --connect addresses are of "
				 "different families", NULL);
	if (proto.kind > CRR_UDP && strcmp(mode, "client"))
		return bad_usage("--sendto, --ping and --raw are for a client",
				 NULL);
	if (pktinfo && !proto.udp)
		return bad_usage("--pktinfo is for a --udp server", NULL);
	if (!strcmp(mode, "server"))
		return run_server(&proto.server, proto.udp, pktinfo, echo,
				  threads, report_file);
	if (!strcmp(mode, "hold")) {
		if (!count || duration <= 0)
			return bad_usage("give --count N and --duration S",
					 NULL);
		return run_hold(&proto.server,
				proto.bind ? &proto.bind_to : NULL, count,
				duration);
	}
	if (!count && duration <= 0)
		return bad_usage("give --count N or --duration SECONDS", NULL);
	return run_client(&proto, count, duration, threads, report);
}
