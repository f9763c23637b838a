/* nat.c - the masquerade table through libnftables (see nat.h). */
#include <ctype.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "nat.h"

void nat_table_name(uint64_t cgroup_id, char *buf, size_t len)
{
	snprintf(buf, len, "mlb_bpf_%" PRIu64, cgroup_id);
}

/* The first non-empty line of libnftables' error text, trimmed. */
static void first_error_line(const char *text, char *buf, size_t len)
{
	const char *p = text ? text : "";
	size_t n;

	while (*p && isspace((unsigned char)*p))
		p++;
	n = strcspn(p, "\n");
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	if (n == 0) {
		snprintf(buf, len, "unknown error");
		return;
	}
	snprintf(buf, len, "%.*s", (int)n, p);
}

/* Run one batch of nft commands in the current network namespace.  A new
 * context per call, so its netlink socket is opened in the namespace the
 * thread is in now.  On failure, *why gets libnftables' message. */
static int run_nft(const char *commands, char *why, size_t why_len)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	int ret;

	if (!nft) {
		snprintf(why, why_len, "cannot create nftables context");
		return -1;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	ret = nft_run_cmd_from_buffer(nft, commands);
	if (ret)
		first_error_line(nft_ctx_get_error_buffer(nft), why, why_len);
	nft_ctx_free(nft);
	return ret ? -1 : 0;
}

int nat_table_exists(const char *name, struct mlb_err *err)
{
	char cmd[128], why[256];

	snprintf(cmd, sizeof(cmd), "list table inet %s", name);
	if (run_nft(cmd, why, sizeof(why)) == 0)
		return 1;
	if (strstr(why, "No such file or directory"))
		return 0;
	return mlb_fail(err, "nftables: listing table inet %s: %s", name,
			why);
}

static bool safe_ifname(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (!isalnum((unsigned char)*name) && !strchr("_.:@-", *name))
			return false;
	return true;
}

int nat_check_free(const struct mlb_state *state, struct mlb_err *err)
{
	int exists = nat_table_exists(state->nft_table, err);

	if (exists < 0)
		return -1;
	if (exists)
		return mlb_fail(err, "nftables table inet %s already exists",
				state->nft_table);
	return 0;
}

/* The families an uplink's masquerade rule is for: the ones it carries
 * (an uplink may carry IPv4 only, IPv6 only, or both). */
static const char *nfproto_match(const struct mlb_state_uplink *u)
{
	bool v4 = u->addr != 0;
	bool v6 = !mlb_addr_is_none(u->addr6);

	if (v4 && !v6)
		return "meta nfproto ipv4 ";
	if (v6 && !v4)
		return "meta nfproto ipv6 ";
	return "";
}

/* A sysctl of the calling thread's namespace that reads "1"; an
 * unreadable one (IPv6 disabled) is off. */
static bool sysctl_on(const char *path)
{
	char buf[8] = "";
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] == '1';
}

bool nat_forwarding(void)
{
	return sysctl_on("/proc/sys/net/ipv4/ip_forward") ||
	       sysctl_on("/proc/sys/net/ipv6/conf/all/forwarding");
}

bool nat_wanted(const struct mlb_state *state)
{
	return state->nft_table[0] &&
	       (state->masquerade || state->nlan || nat_forwarding());
}

/* Append to a growing batch; the caller sized it. */
static void add(char *batch, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(char *batch, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*len += (size_t)vsnprintf(batch + *len, cap - *len, fmt, ap);
	va_end(ap);
}

/* The --lan interfaces as an anonymous set: { "a", "b" }. */
static void lan_set(const struct mlb_state *state, char *buf, size_t len)
{
	size_t n = 0;

	n += (size_t)snprintf(buf, len, "{ ");
	for (unsigned i = 0; i < state->nlan && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s\"%s\"",
				      i ? ", " : "", state->lan[i].ifname);
	if (n < len)
		snprintf(buf + n, len - n, " }");
}

/* The uplinks as an anonymous set, and as a map of each one's mark:
 * { "a", "b" } and { "a" : 0x10, "b" : 0x11 }. */
static void uplink_sets(const struct mlb_state *state, char *set,
			size_t setlen, char *map, size_t maplen)
{
	size_t n = 0, m = 0;

	n += (size_t)snprintf(set, setlen, "{ ");
	m += (size_t)snprintf(map, maplen, "{ ");
	for (unsigned i = 0;
	     i < state->nuplinks && n < setlen && m < maplen; i++) {
		const struct mlb_state_uplink *u = &state->uplinks[i];

		n += (size_t)snprintf(set + n, setlen - n, "%s\"%s\"",
				      i ? ", " : "", u->ifname);
		m += (size_t)snprintf(map + m, maplen - m, "%s\"%s\" : 0x%x",
				      i ? ", " : "", u->ifname, u->mark);
	}
	if (n < setlen)
		snprintf(set + n, setlen - n, " }");
	if (m < maplen)
		snprintf(map + m, maplen - m, " }");
}

/* The chain that answers forwarded connections by the uplink they came
 * in on (see nat.h).  Most packets are past the first rule's state test
 * at once; the second's tests go from the cheapest, and only a packet
 * of an inbound connection's answer reaches the set. */
static void add_inbound_chain(const struct mlb_state *state, char *batch,
			      size_t cap, size_t *len)
{
	char set[MLB_MAX_UPLINKS * (IF_NAMESIZE + 4) + 8];
	char map[MLB_MAX_UPLINKS * (IF_NAMESIZE + 16) + 8];
	const char *t = state->nft_table;

	uplink_sets(state, set, sizeof(set), map, sizeof(map));
	add(batch, cap, len, "add chain inet %s prerouting { type filter "
	    "hook prerouting priority mangle; policy accept; }\n"
	    "add rule inet %s prerouting ct state new "
	    "ct mark set iifname map %s\n"
	    "add rule inet %s prerouting ct direction reply meta mark 0 "
	    "ct mark & 0x%x != 0 iifname != %s "
	    "meta mark set ct mark & 0x%x\n", t, t, map, t,
	    state->mark_mask, set, state->mark_mask);
}

static int check_names(const struct mlb_state *state, struct mlb_err *err)
{
	const char *bad = NULL;

	for (unsigned i = 0; i < state->nuplinks && !bad; i++)
		if (!safe_ifname(state->uplinks[i].ifname))
			bad = state->uplinks[i].ifname;
	for (unsigned i = 0; i < state->nlan && !bad; i++)
		if (!safe_ifname(state->lan[i].ifname))
			bad = state->lan[i].ifname;
	if (bad)
		return mlb_fail(err, "interface name \"%s\" cannot be used "
				"in an nftables rule", bad);
	return 0;
}

/* Create the table as the state says, in one batch: it appears whole
 * or not at all. */
static int create_table(const struct mlb_state *state, struct mlb_err *err)
{
	char why[256], lans[MLB_MAX_LAN * (IF_NAMESIZE + 4) + 8];
	size_t len = 0, cap = 2048 + state->nuplinks * 240;
	const char *t = state->nft_table;
	char *batch;
	int ret = 0;

	if (check_names(state, err))
		return -1;
	batch = malloc(cap);
	if (!batch)
		return mlb_fail(err, "out of memory");
	lan_set(state, lans, sizeof(lans));
	add(batch, cap, &len, "add table inet %s\n", t);
	add_inbound_chain(state, batch, cap, &len);
	if (state->masquerade || state->nlan)
		add(batch, cap, &len, "add chain inet %s postrouting { type "
		    "nat hook postrouting priority srcnat; policy accept; }\n",
		    t);
	/* A LAN flow's first packet (the only one a nat chain sees) carries
	 * the mark mlb_tc_lan chose: keep it in the flow's conntrack entry,
	 * where mlb_tc_lan finds it whenever its own map of flows lacks
	 * it.  Before the masquerade rules, which end the chain. */
	if (state->nlan)
		add(batch, cap, &len, "add rule inet %s postrouting iifname %s "
		    "meta mark & 0x%x != 0 ct mark set meta mark & 0x%x\n",
		    t, lans, state->mark_mask, state->mark_mask);
	for (unsigned i = 0; i < state->nuplinks; i++) {
		const struct mlb_state_uplink *u = &state->uplinks[i];

		if (state->masquerade)
			add(batch, cap, &len, "add rule inet %s postrouting "
			    "oifname \"%s\" %smasquerade\n", t, u->ifname,
			    nfproto_match(u));
		else if (state->nlan)
			add(batch, cap, &len, "add rule inet %s postrouting "
			    "iifname %s oifname \"%s\" %smasquerade\n", t,
			    lans, u->ifname, nfproto_match(u));
	}
	if (run_nft(batch, why, sizeof(why)))
		ret = mlb_fail(err, "nftables: creating table inet %s: %s",
			       t, why);
	free(batch);
	return ret;
}

int nat_install(struct mlb_state *state, struct mlb_err *err)
{
	if (nat_check_free(state, err) || create_table(state, err))
		return -1;
	state->installed |= MLB_INSTALLED_NAT;
	return 0;
}

int nat_reconcile(const struct mlb_state *state, bool *made,
		  struct mlb_err *err)
{
	int exists;

	*made = false;
	if (!nat_wanted(state))
		return 0;
	exists = nat_table_exists(state->nft_table, err);
	if (exists)
		return exists < 0 ? -1 : 0;
	if (create_table(state, err))
		return -1;
	*made = true;
	return 0;
}

int nat_remove(const struct mlb_state *state, struct mlb_err *err)
{
	char cmd[128], why[256];
	int exists;

	/* by name, not by MLB_INSTALLED_NAT: watch may have made it
	 * after attach (nat_reconcile) */
	if (!state->nft_table[0])
		return 0;
	exists = nat_table_exists(state->nft_table, err);
	if (exists <= 0)
		return exists;
	snprintf(cmd, sizeof(cmd), "delete table inet %s", state->nft_table);
	if (run_nft(cmd, why, sizeof(why)))
		return mlb_fail(err, "nftables: deleting table inet %s: %s",
				state->nft_table, why);
	return 0;
}
