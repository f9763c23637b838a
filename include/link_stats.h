/* link_stats.h - interfaces' counters as the kernel keeps them, asked
 * over rtnetlink in the namespace the caller is in: metrics exports them,
 * watch measures --balance adaptive's capacity from them.
 */
#ifndef MLB_LINK_STATS_H
#define MLB_LINK_STATS_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct link_stats {
	bool read;		/* false: the interface could not be found */
	uint32_t ifindex;
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
};

/* The counters of interfaces names[0..n) into out[0..n): an interface
 * that is gone (or every one, if rtnetlink cannot be asked) has read
 * unset. */
void link_stats_read(const char (*names)[IF_NAMESIZE], unsigned n,
		     struct link_stats *out);

#endif
