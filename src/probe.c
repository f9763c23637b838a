/* probe.c - asynchronous ICMP, TCP and ARP probes out of one uplink (see
 * probe.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

uint64_t probe_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int fail(struct probe *p, struct mlb_err *err, const char *ifname,
		const char *what)
{
	char addr[INET_ADDRSTRLEN];
	int e = errno;

	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->done = true;
	p->ok = false;
	return mlb_fail(err, "probe %s via %s: %s: %s",
			inet_ntop(AF_INET, &p->target, addr, sizeof(addr)),
			ifname, what, strerror(e));
}

/* The probe leaves by the uplink: its mark selects the uplink's table,
 * the device binding keeps it off every other interface. */
static int pin_to_uplink(int fd, const char *ifname, uint32_t mark)
{
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname,
			  (socklen_t)strlen(ifname) + 1);
}

static uint16_t checksum(const void *data, size_t len)
{
	const uint16_t *w = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const uint8_t *)w;
	sum = (sum >> 16) + (sum & 0xffff);
	sum += sum >> 16;
	return (uint16_t)~sum;
}

/* ---- ICMP echo --------------------------------------------------------- */

static int icmp_start(struct probe *p, const char *ifname, uint32_t mark,
		      struct mlb_err *err)
{
	static uint16_t seq;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = p->target };
	struct icmphdr echo = { .type = ICMP_ECHO };

	/* A raw socket: ping sockets depend on ping_group_range, which is
	 * closed in a fresh namespace. */
	p->fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       IPPROTO_ICMP);
	if (p->fd < 0)
		return fail(p, err, ifname, "socket");
	if (pin_to_uplink(p->fd, ifname, mark))
		return fail(p, err, ifname, "binding to the uplink");
	p->id = (uint16_t)(getpid() ^ (p->ifindex << 8));
	p->seq = ++seq;
	echo.un.echo.id = htons(p->id);
	echo.un.echo.sequence = htons(p->seq);
	echo.checksum = checksum(&echo, sizeof(echo));
	if (sendto(p->fd, &echo, sizeof(echo), 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		return fail(p, err, ifname, "sending");
	return 0;
}

/* Read what arrived; true once our echo reply is among it. */
static bool icmp_answered(struct probe *p)
{
	unsigned char buf[1500];
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	ssize_t n;

	while ((n = recvfrom(p->fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&from, &len)) > 0) {
		const struct iphdr *ip = (const void *)buf;
		size_t hl = (size_t)ip->ihl * 4;
		const struct icmphdr *icmp = (const void *)(buf + hl);

		len = sizeof(from);
		if ((size_t)n < hl + sizeof(*icmp))
			continue;
		if (icmp->type == ICMP_ECHOREPLY &&
		    ntohs(icmp->un.echo.id) == p->id &&
		    ntohs(icmp->un.echo.sequence) == p->seq &&
		    from.sin_addr.s_addr == p->target.s_addr)
			return true;
	}
	return false;
}

/* ---- TCP connect ------------------------------------------------------- */

static int tcp_start(struct probe *p, uint16_t port, const char *ifname,
		     uint32_t mark, struct mlb_err *err)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET, .sin_addr = p->target,
		.sin_port = htons(port),
	};

	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return fail(p, err, ifname, "socket");
	if (pin_to_uplink(p->fd, ifname, mark))
		return fail(p, err, ifname, "binding to the uplink");
	if (connect(p->fd, (struct sockaddr *)&to, sizeof(to)) == 0 ||
	    errno == ECONNREFUSED) {
		/* Answered at once: the path works either way. */
		close(p->fd);
		p->fd = -1;
		p->done = p->ok = true;
		return 0;
	}
	if (errno != EINPROGRESS)
		return fail(p, err, ifname, "connecting");
	return 0;
}

/* A refusal is an answer too: something at the far end replied. */
static bool tcp_answered(struct probe *p)
{
	int so_error = 0;
	socklen_t len = sizeof(so_error);
	struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };

	if (poll(&pfd, 1, 0) <= 0)
		return false;
	getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
	return so_error == 0 || so_error == ECONNREFUSED;
}

/* ---- ARP --------------------------------------------------------------- */

struct arp_packet {
	struct arphdr hdr;
	unsigned char sender_hw[ETH_ALEN];
	unsigned char sender_ip[4];
	unsigned char target_hw[ETH_ALEN];
	unsigned char target_ip[4];
} __attribute__((packed));

static int arp_start(struct probe *p, const char *ifname, struct mlb_err *err)
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = p->ifindex, .sll_halen = ETH_ALEN,
		.sll_addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	struct arp_packet req = {
		.hdr = { .ar_hrd = htons(ARPHRD_ETHER),
			 .ar_pro = htons(ETH_P_IP), .ar_hln = ETH_ALEN,
			 .ar_pln = 4, .ar_op = htons(ARPOP_REQUEST) },
	};
	struct ifreq ifr = { 0 };

	/* Bound to the uplink by its index: ARP never leaves by another. */
	p->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       htons(ETH_P_ARP));
	if (p->fd < 0)
		return fail(p, err, ifname, "socket");
	if (bind(p->fd, (struct sockaddr *)&to, sizeof(to)))
		return fail(p, err, ifname, "binding to the uplink");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(p->fd, SIOCGIFHWADDR, &ifr))
		return fail(p, err, ifname, "reading its hardware address");
	memcpy(p->hwaddr, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	memcpy(req.sender_hw, p->hwaddr, ETH_ALEN);
	memcpy(req.sender_ip, &p->source, 4);
	memcpy(req.target_ip, &p->target, 4);
	if (sendto(p->fd, &req, sizeof(req), 0, (struct sockaddr *)&to,
		   sizeof(to)) < 0)
		return fail(p, err, ifname, "sending");
	return 0;
}

static bool arp_answered(struct probe *p)
{
	struct arp_packet reply;
	ssize_t n;

	while ((n = recv(p->fd, &reply, sizeof(reply), MSG_DONTWAIT)) > 0) {
		if ((size_t)n < sizeof(reply) ||
		    ntohs(reply.hdr.ar_op) != ARPOP_REPLY)
			continue;
		if (memcmp(reply.sender_ip, &p->target, 4) == 0)
			return true;
	}
	return false;
}

/* ---- the common part --------------------------------------------------- */

int probe_start(struct probe *p, enum probe_type type, struct in_addr target,
		uint16_t port, const char *ifname, int ifindex,
		struct in_addr source, uint32_t mark, unsigned timeout_ms,
		struct mlb_err *err)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->type = type;
	p->target = target;
	p->ifindex = ifindex;
	p->source = source;
	p->started_us = probe_now_us();
	p->deadline_us = p->started_us + 1000ULL * timeout_ms;
	switch (type) {
	case PROBE_ICMP:
		return icmp_start(p, ifname, mark, err);
	case PROBE_TCP:
		return tcp_start(p, port, ifname, mark, err);
	default:
		return arp_start(p, ifname, err);
	}
}

short probe_poll_events(const struct probe *p)
{
	return p->type == PROBE_TCP ? POLLOUT : POLLIN;
}

bool probe_check(struct probe *p, uint64_t now_us)
{
	bool answered;

	if (p->done)
		return true;
	switch (p->type) {
	case PROBE_ICMP:
		answered = icmp_answered(p);
		break;
	case PROBE_TCP:
		answered = tcp_answered(p);
		break;
	default:
		answered = arp_answered(p);
		break;
	}
	if (!answered && now_us < p->deadline_us)
		return false;
	p->done = true;
	p->ok = answered;
	p->rtt_us = answered ? (uint32_t)(probe_now_us() - p->started_us) : 0;
	probe_cancel(p);
	return true;
}

void probe_cancel(struct probe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}
