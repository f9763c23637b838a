/* containers_veth.c - find containers' veths (rtnetlink, libnl-route) and
 * the maps the container program keeps of them (see containers_veth.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "containers_veth.h"
#include "loader.h"

/* The program's maps are found from the program itself (its map ids):
 * they are pinned only with it. */
int container_maps_open(uint64_t cgroup_id, struct container_maps *m,
			struct mlb_err *err)
{
	struct bpf_prog_info info = { 0 };
	__u32 ids[16], len = sizeof(info);

	m->veths = m->counts = -1;
	m->prog = loader_open_program(cgroup_id, LOADER_PIN_TC_CONTAINER, err);
	if (m->prog < 0)
		return -1;
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(m->prog, &info, &len)) {
		mlb_fail(err, "reading the container program's info: %s",
			 strerror(errno));
		goto fail;
	}
	m->prog_id = info.id;
	for (__u32 i = 0; i < info.nr_map_ids && i < 16; i++) {
		struct bpf_map_info map = { 0 };
		__u32 mlen = sizeof(map);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &map, &mlen) == 0) {
			if (!strcmp(map.name, "veths") && m->veths < 0) {
				m->veths = fd;
				continue;
			}
			if (!strcmp(map.name, "veth_counts") && m->counts < 0) {
				m->counts = fd;
				continue;
			}
		}
		close(fd);
	}
	if (m->veths >= 0 && m->counts >= 0)
		return 0;
	mlb_fail(err, "the container program of cgroup id %llu has no veth "
		 "maps (made by another version of mlb-bpf?)",
		 (unsigned long long)cgroup_id);
fail:
	container_maps_close(m);
	return -1;
}

void container_maps_close(struct container_maps *m)
{
	int *fds[] = { &m->prog, &m->veths, &m->counts };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

void container_maps_forget(const struct container_maps *m, uint32_t ifindex)
{
	/* one key per uplink (and the last resort) at most */
	struct mlb_veth_count_key key, next, gone[MLB_MAX_UPLINKS + 1];
	unsigned ngone = 0;
	bool first = true;

	bpf_map_delete_elem(m->veths, &ifindex);
	while (ngone < MLB_MAX_UPLINKS + 1 &&
	       bpf_map_get_next_key(m->counts, first ? NULL : &key,
				    &next) == 0) {
		if (next.ifindex == ifindex)
			gone[ngone++] = next;
		key = next;
		first = false;
	}
	for (unsigned i = 0; i < ngone; i++)
		bpf_map_delete_elem(m->counts, &gone[i]);
}

/* An uplink or --lan interface of the record: never a container's. */
static bool is_recorded(const struct mlb_state *state, const char *name,
			uint32_t ifindex)
{
	for (unsigned i = 0; i < state->nuplinks; i++)
		if (state->uplinks[i].ifindex == ifindex ||
		    !strcmp(state->uplinks[i].ifname, name))
			return true;
	for (unsigned i = 0; i < state->nlan && i < MLB_MAX_LAN; i++)
		if (state->lan[i].ifindex == ifindex ||
		    !strcmp(state->lan[i].ifname, name))
			return true;
	return false;
}

int container_veths_find(const struct mlb_state *state,
			 struct container_veth **out, unsigned *n,
			 struct mlb_err *err)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *cache = NULL;
	struct nl_object *obj;
	int ret;

	*out = NULL;
	*n = 0;
	if (!sk)
		return mlb_fail(err, "netlink: out of memory");
	ret = nl_connect(sk, NETLINK_ROUTE);
	if (ret == 0)
		ret = rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache);
	if (ret < 0) {
		nl_socket_free(sk);
		return mlb_fail(err, "listing interfaces: %s",
				nl_geterror(ret));
	}
	*out = calloc(MLB_MAX_VETHS, sizeof(**out));
	if (!*out) {
		nl_cache_free(cache);
		nl_socket_free(sk);
		return mlb_fail(err, "out of memory");
	}
	for (obj = nl_cache_get_first(cache); obj && *n < MLB_MAX_VETHS;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;
		const char *type = rtnl_link_get_type(link);
		const char *name = rtnl_link_get_name(link);
		struct container_veth *c = &(*out)[*n];
		int32_t nsid;

		if (!type || strcmp(type, "veth") || !name ||
		    rtnl_link_get_link_netnsid(link, &nsid) < 0 || nsid < 0 ||
		    is_recorded(state, name, rtnl_link_get_ifindex(link)))
			continue;
		c->ifindex = rtnl_link_get_ifindex(link);
		c->v.netnsid = nsid;
		snprintf(c->v.ifname, sizeof(c->v.ifname), "%s", name);
		(*n)++;
	}
	nl_cache_free(cache);
	nl_socket_free(sk);
	return 0;
}

static int compare_views(const void *a, const void *b)
{
	const struct container_view *x = a, *y = b;

	return strcmp(x->ifname, y->ifname);
}

int containers_read(uint64_t cgroup_id, struct container_view **out,
		    unsigned *n, struct mlb_err *err)
{
	int ncpus = libbpf_num_possible_cpus();
	struct mlb_veth_count_key ckey, cnext;
	struct container_maps m;
	__u32 key, next;
	__u64 *percpu;
	bool first;

	*out = NULL;
	*n = 0;
	if (ncpus <= 0)
		return mlb_fail(err, "counting CPUs: %s", strerror(-ncpus));
	if (container_maps_open(cgroup_id, &m, err))
		return -1;
	*out = calloc(MLB_MAX_VETHS, sizeof(**out));
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!*out || !percpu) {
		free(*out);
		free(percpu);
		*out = NULL;
		container_maps_close(&m);
		return mlb_fail(err, "out of memory");
	}
	for (first = true; *n < MLB_MAX_VETHS &&
	     bpf_map_get_next_key(m.veths, first ? NULL : &key, &next) == 0;
	     first = false, key = next) {
		struct container_view *c = &(*out)[*n];
		struct mlb_veth v;

		if (bpf_map_lookup_elem(m.veths, &next, &v))
			continue;
		c->ifindex = next;
		c->netnsid = v.netnsid;
		snprintf(c->ifname, sizeof(c->ifname), "%.15s", v.ifname);
		(*n)++;
	}
	for (first = true; bpf_map_get_next_key(m.counts, first ? NULL : &ckey,
						&cnext) == 0;
	     first = false, ckey = cnext) {
		uint64_t sum = 0;

		if (cnext.uplink > MLB_MAX_UPLINKS ||
		    bpf_map_lookup_elem(m.counts, &cnext, percpu))
			continue;
		for (int c = 0; c < ncpus; c++)
			sum += percpu[c];
		for (unsigned i = 0; i < *n; i++)
			if ((*out)[i].ifindex == cnext.ifindex)
				(*out)[i].counts[cnext.uplink] += sum;
	}
	free(percpu);
	container_maps_close(&m);
	qsort(*out, *n, sizeof(**out), compare_views);
	return 0;
}
