/* lan.c - balance the flows of --lan interfaces' clients (see lan.h).
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel_features.h"
#include "lan.h"
#include "loader.h"
#include "route.h"
#include "tc.h"

int lan_resolve(struct mlb_state *state, struct mlb_err *err)
{
	for (unsigned i = 0; i < state->nlan; i++) {
		unsigned idx = if_nametoindex(state->lan[i].ifname);

		if (!idx)
			return mlb_fail(err, "LAN interface \"%s\" does not "
					"exist", state->lan[i].ifname);
		state->lan[i].ifindex = idx;
	}
	return 0;
}

/* A sysctl of the calling thread's namespace that reads "1". */
static int sysctl_is_on(const char *path, struct mlb_err *err)
{
	char buf[16] = "";
	FILE *f = fopen(path, "re");

	if (!f)
		return mlb_fail(err, "reading %s: %s", path, strerror(errno));
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] == '1';
}

static bool uplinks_carry_ipv6(const struct mlb_state *state)
{
	for (unsigned i = 0; i < state->nuplinks; i++)
		if (!mlb_addr_is_none(state->uplinks[i].addr6))
			return true;
	return false;
}

static bool lan_has_ipv6(const struct mlb_state *state)
{
	struct mlb_err ignored;

	for (unsigned i = 0; i < state->nlan; i++) {
		struct mlb_link_info link;

		if (route_lookup_link(state->lan[i].ifname, &link,
				      &ignored) == 0 && link.has_addr6)
			return true;
	}
	return false;
}

int lan_check_forwarding(const struct mlb_state *state, struct mlb_err *err)
{
	static const char v4[] = "/proc/sys/net/ipv4/ip_forward";
	static const char v6[] = "/proc/sys/net/ipv6/conf/all/forwarding";
	int on;

	if (!state->nlan)
		return 0;
	on = sysctl_is_on(v4, err);
	if (on <= 0)
		return on < 0 ? -1 :
		       mlb_fail(err, "--lan: IPv4 forwarding is off in this "
				"namespace (set net.ipv4.ip_forward=1)");
	if (!uplinks_carry_ipv6(state) || !lan_has_ipv6(state))
		return 0;
	on = sysctl_is_on(v6, err);
	if (on <= 0)
		return on < 0 ? -1 :
		       mlb_fail(err, "--lan: IPv6 forwarding is off in this "
				"namespace (set "
				"net.ipv6.conf.all.forwarding=1)");
	return 0;
}

int lan_check_kernel(struct mlb_err *err)
{
	/* strict: by now the masquerade table has loaded nf_conntrack, if
	 * a module, so its BTF can be asked */
	return features_require(FEAT_CT_KFUNCS, "--lan", true, err);
}

/* The pinned LAN program and its id. */
static int open_program(const struct mlb_state *state, uint32_t *id,
			struct mlb_err *err)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = loader_open_program(state->cgroup_id, LOADER_PIN_TC_LAN, err);

	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return mlb_fail(err, "reading the LAN program's id: %s",
				strerror(errno));
	}
	*id = info.id;
	return fd;
}

/* Attach the program to each --lan interface found by name now; with
 * only_missing, skip those that have it already. */
static int attach_each(const struct mlb_state *state, bool only_missing,
		       struct mlb_err *err)
{
	char dir[128];
	uint32_t id = 0;
	int fd, ret = 0;

	if (!state->nlan)
		return 0;
	fd = open_program(state, &id, err);
	if (fd < 0)
		return -1;
	loader_pin_dir(state->cgroup_id, dir, sizeof(dir));
	for (unsigned i = 0; i < state->nlan && !ret; i++) {
		const char *name = state->lan[i].ifname;
		int idx = (int)if_nametoindex(name);

		if (!idx) {
			if (!only_missing)
				ret = mlb_fail(err, "interface \"%s\" does not "
					       "exist", name);
			continue;
		}
		if (only_missing &&
		    tc_is_attached(state->tc_mode, state->cgroup_id, idx, id))
			continue;
		if (tc_attach(state->tc_mode, fd, dir, state->cgroup_id, idx,
			      err))
			ret = mlb_fail_prefix(err, "interface \"%s\"", name);
	}
	close(fd);
	return ret;
}

int lan_attach(const struct mlb_state *state, struct mlb_err *err)
{
	return attach_each(state, false, err);
}

int lan_refresh(const struct mlb_state *state, struct mlb_err *err)
{
	return attach_each(state, true, err);
}

/* The program's run time and count, if it is pinned. */
static void read_run_stats(uint64_t cgroup_id, struct lan_counts *out)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	struct mlb_err ignored;
	int fd = loader_open_program(cgroup_id, LOADER_PIN_TC_LAN, &ignored);

	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
		out->run_time_ns = info.run_time_ns;
		out->run_cnt = info.run_cnt;
	}
	close(fd);
}

int lan_read_counts(uint64_t cgroup_id, unsigned n, struct lan_counts *out,
		    struct mlb_err *err)
{
	int ncpus = libbpf_num_possible_cpus(), fd;
	char dir[128], path[PATH_MAX];
	__u64 *percpu;

	memset(out, 0, sizeof(*out));
	read_run_stats(cgroup_id, out);
	loader_pin_dir(cgroup_id, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, LOADER_PIN_LAN_FLOWS);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 :
		       mlb_fail(err, "opening %s: %s", path, strerror(errno));
	if (ncpus <= 0) {
		close(fd);
		return mlb_fail(err, "counting CPUs: %s", strerror(-ncpus));
	}
	percpu = calloc((size_t)ncpus, sizeof(*percpu));
	for (__u32 i = 0; percpu && i < n && i < MLB_MAX_UPLINKS; i++) {
		if (bpf_map_lookup_elem(fd, &i, percpu))
			break;
		for (int c = 0; c < ncpus; c++)
			out->flows[i] += percpu[c];
		out->total += out->flows[i];
	}
	free(percpu);
	close(fd);
	return 0;
}
