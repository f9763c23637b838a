/* link_stats.c - interfaces' counters over rtnetlink (see link_stats.h). */
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "link_stats.h"

void link_stats_read(const char (*names)[IF_NAMESIZE], unsigned n,
		     struct link_stats *out)
{
	struct nl_sock *sk = nl_socket_alloc();

	memset(out, 0, n * sizeof(*out));
	if (!sk)
		return;
	if (nl_connect(sk, NETLINK_ROUTE) == 0)
		for (unsigned i = 0; i < n; i++) {
			struct link_stats *s = &out[i];
			struct rtnl_link *link = NULL;

			if (rtnl_link_get_kernel(sk, 0, names[i], &link) < 0)
				continue;	/* gone: not read */
			s->read = true;
			s->ifindex = (uint32_t)rtnl_link_get_ifindex(link);
			s->rx_bytes = rtnl_link_get_stat(link, RTNL_LINK_RX_BYTES);
			s->tx_bytes = rtnl_link_get_stat(link, RTNL_LINK_TX_BYTES);
			s->rx_packets = rtnl_link_get_stat(link,
							   RTNL_LINK_RX_PACKETS);
			s->tx_packets = rtnl_link_get_stat(link,
							   RTNL_LINK_TX_PACKETS);
			rtnl_link_put(link);
		}
	nl_socket_free(sk);
}
