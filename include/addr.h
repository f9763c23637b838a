/* addr.h - addresses of either family as the routing code keeps them:
 * four network-byte-order words, as in state.h (IPv4 in the first, the
 * rest zero), and the words that name a family in messages.  No netlink
 * here: the plan and everything that talks to the kernel share these.
 */
#ifndef MLB_ADDR_H
#define MLB_ADDR_H

#include <linux/types.h>

#define NFAMILIES 2
/* The families an uplink may carry, in the order they are set up. */
extern const int families[NFAMILIES];

unsigned addr_bits(int family);
/* An address as text, in buf (INET6_ADDRSTRLEN bytes). */
const char *addr_str(int family, const __u32 *a, char *buf);
/* "IPv6 " before what names an IPv6 object whose text does not show it. */
const char *family_word(int family);

#endif
