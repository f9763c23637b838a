/* nat.c - the masquerade table through libnftables (see nat.h). */
#include <ctype.h>
#include <inttypes.h>
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

int nat_install(struct mlb_state *state, struct mlb_err *err)
{
	char why[256];
	size_t len = 0, cap = 512 + state->nuplinks * 96;
	char *batch;

	if (nat_check_free(state, err))
		return -1;
	batch = malloc(cap);
	if (!batch)
		return mlb_fail(err, "out of memory");
	len += (size_t)snprintf(batch + len, cap - len,
		"add table inet %s\n"
		"add chain inet %s postrouting { type nat hook postrouting "
		"priority srcnat; policy accept; }\n",
		state->nft_table, state->nft_table);
	for (unsigned i = 0; i < state->nuplinks; i++) {
		const char *ifname = state->uplinks[i].ifname;

		if (!safe_ifname(ifname)) {
			free(batch);
			return mlb_fail(err, "interface name \"%s\" cannot be "
					"used in an nftables rule", ifname);
		}
		len += (size_t)snprintf(batch + len, cap - len,
			"add rule inet %s postrouting oifname \"%s\" "
			"%smasquerade\n", state->nft_table, ifname,
			nfproto_match(&state->uplinks[i]));
	}
	/* One batch: the table appears whole or not at all. */
	if (run_nft(batch, why, sizeof(why))) {
		free(batch);
		return mlb_fail(err, "nftables: creating table inet %s: %s",
				state->nft_table, why);
	}
	free(batch);
	state->installed |= MLB_INSTALLED_NAT;
	return 0;
}

int nat_remove(const struct mlb_state *state, struct mlb_err *err)
{
	char cmd[128], why[256];
	int exists;

	if (!(state->installed & MLB_INSTALLED_NAT))
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
