/* crr_tally.c - crr's socket addresses of either family and its small
 * tallies by address or mark (see crr.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crr.h"

socklen_t sockaddr_len(const union sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in);
}

struct key mark_key(uint32_t mark)
{
	struct key k;

	memset(&k, 0, sizeof(k));
	k.mark = mark;
	return k;
}

struct key addr_key(const union sockaddr_any *a)
{
	struct key k;

	memset(&k, 0, sizeof(k));
	k.family = a->sa.sa_family;
	if (k.family == AF_INET6)
		memcpy(k.addr, &a->in6.sin6_addr, 16);
	else
		memcpy(k.addr, &a->in.sin_addr, 4);
	return k;
}

/* The address of k as text, in buf (INET6_ADDRSTRLEN bytes). */
const char *key_addr(const struct key *k, char *buf)
{
	return inet_ntop(k->family == AF_INET6 ? AF_INET6 : AF_INET, k->addr,
			 buf, INET6_ADDRSTRLEN);
}

/* Addresses by family, then in numeric order (network byte order
 * compares as bytes). */
int compare_keys(const struct key *a, const struct key *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

void tally_add(struct tally *t, struct key key, uint64_t count)
{
	for (unsigned i = 0; i < t->n; i++) {
		if (!compare_keys(&t->key[i], &key)) {
			t->count[i] += count;
			return;
		}
	}
	if (t->n < MAX_KEYS) {
		t->key[t->n] = key;
		t->count[t->n++] = count;
	}
}

void tally_merge(struct tally *into, const struct tally *from)
{
	for (unsigned i = 0; i < from->n; i++)
		tally_add(into, from->key[i], from->count[i]);
}

/* ADDR of either family (port 0); 0 or -1. */
int parse_addr(const char *host, union sockaddr_any *sa)
{
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, host, &sa->in.sin_addr) == 1) {
		sa->in.sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sa->in6.sin6_addr) == 1) {
		sa->in6.sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* "ADDR:PORT", "[ADDR6]:PORT" or "ADDR6:PORT" (the port follows the last
 * colon). */
int parse_addr_port(const char *arg, union sockaddr_any *sa)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : 0;
	bool bracketed = len >= 2 && arg[0] == '[' && arg[len - 1] == ']';
	char *end;
	long port;

	if (!colon || len >= sizeof(host))
		return -1;
	if (bracketed)
		snprintf(host, sizeof(host), "%.*s", (int)len - 2, arg + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)len, arg);
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535 || parse_addr(host, sa) ||
	    (bracketed && sa->sa.sa_family != AF_INET6))
		return -1;
	if (sa->sa.sa_family == AF_INET6)
		sa->in6.sin6_port = htons((uint16_t)port);
	else
		sa->in.sin_port = htons((uint16_t)port);
	return 0;
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
