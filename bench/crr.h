/* crr.h - what crr's files share: socket addresses of either family,
 * small tallies by address or mark (crr_tally.c), the server
 * (crr_server.c) and the datagram and ICMP clients (crr_dgram.c); crr.c is the command line, the client and the socket
 * makers. */
#ifndef CRR_H
#define CRR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define MAX_THREADS 64
#define MAX_KEYS 64		/* distinct addresses / marks tracked */

/* What a client transaction is; the ones past CRR_UDP are crr_dgram.c's. */
enum crr_kind {
	CRR_TCP,
	CRR_UDP,	/* connect(), then send and receive */
	CRR_SENDTO,	/* unconnected UDP: sendto() and recv() */
	CRR_PING,	/* ICMP echo on a ping socket */
	CRR_RAW,	/* ICMP echo on a raw socket */
};

/* What a tally counts by: a peer or local address of either family, or
 * a socket mark (family 0). */
struct key {
	int family;			/* AF_INET, AF_INET6, or 0: a mark */
	union {
		uint32_t mark;
		unsigned char addr[16];	/* network byte order */
	};
};

/* A socket address of either family. */
union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};


/* A small counting table: few distinct keys, so a linear scan. */
struct tally {
	struct key key[MAX_KEYS];
	uint64_t count[MAX_KEYS];
	unsigned n;
};

socklen_t sockaddr_len(const union sockaddr_any *a);
struct key mark_key(uint32_t mark);
struct key addr_key(const union sockaddr_any *a);
/* The address of k as text, in buf (INET6_ADDRSTRLEN bytes). */
const char *key_addr(const struct key *k, char *buf);
/* Addresses by family, then in numeric order. */
int compare_keys(const struct key *a, const struct key *b);
void tally_add(struct tally *t, struct key key, uint64_t count);
void tally_merge(struct tally *into, const struct tally *from);
/* ADDR of either family (port 0); 0 or -1. */
int parse_addr(const char *host, union sockaddr_any *sa);
/* "ADDR:PORT", "[ADDR6]:PORT" or "ADDR6:PORT"; 0 or -1. */
int parse_addr_port(const char *arg, union sockaddr_any *sa);
/* Monotonic seconds. */
double now(void);

/* crr_dgram.c: a socket for kind (CRR_SENDTO and after) of family, and
 * one request and reply on it (seq numbers the echo); 0 or -1 (errno). */
int dgram_socket(int family, enum crr_kind kind);
int dgram_transact(int fd, enum crr_kind kind,
		   const union sockaddr_any *server, uint16_t seq);

/* crr server: serve at listen_at until SIGTERM or SIGINT, then write the
 * per-peer report to report (stdout if NULL); returns the exit status. */
int run_server(const union sockaddr_any *listen_at, bool udp, bool pktinfo,
	       bool echo, int threads, const char *report);

#endif
