/* crr_dgram.c - crr client transactions that are not a connect(): an
 * unconnected UDP socket (sendto()/recvfrom(), so the route is looked up
 * per datagram), and ICMP echo through a ping socket (SOCK_DGRAM,
 * IPPROTO_ICMP, allowed by net.ipv4.ping_group_range) or a raw socket.
 * Each is a new socket with one request and its reply, as in crr.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crr.h"

/* The Internet checksum; IPv4 ICMP on a raw socket needs it (the kernel
 * fills it in for ping sockets and for ICMPv6). */
static uint16_t checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* One echo request; the reply's type and, on a raw socket, its id and
 * sequence must match (a raw socket sees every ICMP message; a ping
 * socket only its own replies, with the id the kernel chose). */
static int echo(int fd, const union sockaddr_any *server, bool raw,
		uint16_t id, uint16_t seq)
{
	bool v6 = server->sa.sa_family == AF_INET6;
	union sockaddr_any to = *server;
	uint8_t req[16] = { v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO, 0 };
	uint8_t buf[256];

	memcpy(req + 4, &id, 2);
	memcpy(req + 6, &seq, 2);
	memcpy(req + 8, "crr-echo", 8);
	if (!v6) {
		uint16_t sum = checksum(req, sizeof(req));

		memcpy(req + 2, &sum, 2);
	}
	/* the port means the protocol to an IPv6 raw socket: none */
	if (v6)
		to.in6.sin6_port = 0;
	else
		to.in.sin_port = 0;
	if (sendto(fd, req, sizeof(req), 0, &to.sa, sockaddr_len(&to)) !=
	    (ssize_t)sizeof(req))
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		const uint8_t *icmp = buf;

		if (n < 0)
			return -1;
		/* an IPv4 raw socket gets the IP header too */
		if (raw && !v6) {
			size_t hl = (size_t)(buf[0] & 0x0f) * 4;

			if ((size_t)n < hl + 8)
				continue;
			icmp = buf + hl;
			n -= (ssize_t)hl;
		}
		if (n < 8 ||
		    icmp[0] != (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY))
			continue;
		if (raw && (memcmp(icmp + 4, &id, 2) ||
			    memcmp(icmp + 6, &seq, 2)))
			continue;
		return 0;
	}
}

int dgram_transact(int fd, enum crr_kind kind,
		   const union sockaddr_any *server, uint16_t seq)
{
	char byte = 'x';

	if (kind == CRR_PING || kind == CRR_RAW)
		return echo(fd, server, kind == CRR_RAW,
			    (uint16_t)(getpid() ^ (uintptr_t)&byte), seq);
	if (sendto(fd, &byte, 1, 0, &server->sa, sockaddr_len(server)) != 1)
		return -1;
	return recv(fd, &byte, 1, 0) == 1 ? 0 : -1;
}

int dgram_socket(int family, enum crr_kind kind)
{
	switch (kind) {
	case CRR_PING:
		return socket(family, SOCK_DGRAM,
			      family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	case CRR_RAW:
		return socket(family, SOCK_RAW,
			      family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	default:
		return socket(family, SOCK_DGRAM, 0);
	}
}
