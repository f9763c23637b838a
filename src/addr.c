/* addr.c - addresses of either family as words, and their names in
 * messages (see addr.h).
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "addr.h"

const int families[NFAMILIES] = { AF_INET, AF_INET6 };

unsigned addr_bits(int family)
{
	return family == AF_INET6 ? 128 : 32;
}

const char *addr_str(int family, const __u32 *a, char *buf)
{
	return inet_ntop(family, a, buf, INET6_ADDRSTRLEN);
}

const char *family_word(int family)
{
	return family == AF_INET6 ? "IPv6 " : "";
}
