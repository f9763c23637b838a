/* tc.c - attach an attachment's programs to interfaces' ingress with tcx
 * links or clsact filters (see tc.h).
 *
 * libbpf 1.1 (Debian 12) predates tcx, so tcx links are made with the
 * generic bpf_link_create() and the attach type's number.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/classifier.h>

#include "kernel_features.h"
#include "tc.h"

#define TCX_PIN_PREFIX "tcx-"

const char *tc_mode_name(uint32_t mode)
{
	switch (mode) {
	case MLB_TC_TCX:
		return "tcx";
	case MLB_TC_CLSACT:
		return "clsact";
	default:
		return "none";
	}
}

int tc_pick_mode(uint32_t *mode, struct mlb_err *err)
{
	const char *forced = getenv("MLB_TC_MODE");

	/* kernel_features.c asks the kernel (and a test build may hide tcx) */
	if (!forced || !*forced) {
		*mode = features_have(FEAT_TCX) ? MLB_TC_TCX : MLB_TC_CLSACT;
		return 0;
	}
	if (!strcmp(forced, "clsact")) {
		*mode = MLB_TC_CLSACT;
		return 0;
	}
	if (!strcmp(forced, "tcx")) {
		if (features_require(FEAT_TCX, "MLB_TC_MODE=tcx", true, err))
			return -1;
		*mode = MLB_TC_TCX;
		return 0;
	}
	return mlb_fail(err, "MLB_TC_MODE=%s: expected tcx or clsact", forced);
}

static void tcx_pin_path(const char *pin_dir, int ifindex, char *buf,
			 size_t len)
{
	snprintf(buf, len, "%s/" TCX_PIN_PREFIX "%d", pin_dir, ifindex);
}

/* Detach the pinned tcx link at path and remove the pin.  Detaching
 * first takes the program off at once; dropping the pin alone would leave
 * it running until the pin's inode is freed. */
static int tcx_unpin(const char *path, struct mlb_err *err)
{
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return errno == ENOENT ? 0 :
		       mlb_fail(err, "opening %s: %s", path, strerror(errno));
	bpf_link_detach(fd);	/* fails only if already defunct */
	close(fd);
	if (unlink(path) && errno != ENOENT)
		return mlb_fail(err, "removing %s: %s", path, strerror(errno));
	return 0;
}

static int tcx_attach(int prog_fd, const char *pin_dir, int ifindex,
		      struct mlb_err *err)
{
	char path[256];
	int fd;

	/* A link pinned earlier may belong to an interface that is gone (a
	 * container's veth, its index since reused): start afresh. */
	tcx_pin_path(pin_dir, ifindex, path, sizeof(path));
	if (tcx_unpin(path, err))
		return -1;
	fd = bpf_link_create(prog_fd, ifindex, MLB_BPF_TCX_INGRESS, NULL);
	if (fd < 0)
		return mlb_fail(err, "tcx link on interface %d: %s", ifindex,
				strerror(errno));
	if (bpf_obj_pin(fd, path)) {
		int e = errno;

		close(fd);
		return mlb_fail(err, "pinning %s: %s", path, strerror(e));
	}
	close(fd);		/* the pin keeps it attached */
	return 0;
}

static void clsact_hook(int ifindex, struct bpf_tc_hook *hook)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = BPF_TC_INGRESS;
}

static void clsact_opts(uint64_t cgroup_id, struct bpf_tc_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->handle = (uint32_t)cgroup_id;
	opts->priority = MLB_TC_PRIORITY;
}

static int clsact_attach(int prog_fd, uint64_t cgroup_id, int ifindex,
			 struct mlb_err *err)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int ret;

	clsact_hook(ifindex, &hook);
	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST)
		return mlb_fail(err, "clsact qdisc on interface %d: %s",
				ifindex, strerror(-ret));
	clsact_opts(cgroup_id, &opts);
	opts.prog_fd = prog_fd;
	opts.flags = BPF_TC_F_REPLACE;
	ret = bpf_tc_attach(&hook, &opts);
	if (ret)
		return mlb_fail(err, "tc filter on interface %d: %s", ifindex,
				strerror(-ret));
	return 0;
}

/* Filters left under one clsact parent, or -1 if they cannot be read. */
static int count_filters(struct nl_sock *sk, int ifindex, uint32_t parent)
{
	struct nl_cache *cache;
	int n;

	if (rtnl_cls_alloc_cache(sk, ifindex, parent, &cache) < 0)
		return -1;
	n = nl_cache_nitems(cache);
	nl_cache_free(cache);
	return n;
}

/* A clsact qdisc with no filter left on either side does nothing: remove
 * it, so that detach leaves the interface as it found it. */
static void remove_clsact_if_empty(int ifindex)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct bpf_tc_hook hook;
	int in, out;

	if (!sk)
		return;
	if (nl_connect(sk, NETLINK_ROUTE) == 0) {
		in = count_filters(sk, ifindex,
				   TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS));
		out = count_filters(sk, ifindex,
				    TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS));
		if (in == 0 && out == 0) {
			clsact_hook(ifindex, &hook);
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
	}
	nl_socket_free(sk);
}

/* Remove our filter from ifindex.  Returns 1 if one was there. */
static int clsact_detach(uint64_t cgroup_id, int ifindex, struct mlb_err *err)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int ret;

	clsact_hook(ifindex, &hook);
	clsact_opts(cgroup_id, &opts);
	ret = bpf_tc_detach(&hook, &opts);
	/* ENOENT: no such filter; EINVAL: no clsact qdisc at all; ENODEV:
	 * the interface went away meanwhile. */
	if (ret == -ENOENT || ret == -EINVAL || ret == -ENODEV)
		return 0;
	if (ret)
		return mlb_fail(err, "removing tc filter from interface %d: %s",
				ifindex, strerror(-ret));
	remove_clsact_if_empty(ifindex);
	return 1;
}

int tc_attach(uint32_t mode, int prog_fd, const char *pin_dir,
	      uint64_t cgroup_id, int ifindex, struct mlb_err *err)
{
	if (mode == MLB_TC_TCX)
		return tcx_attach(prog_fd, pin_dir, ifindex, err);
	if (mode == MLB_TC_CLSACT)
		return clsact_attach(prog_fd, cgroup_id, ifindex, err);
	return mlb_fail(err, "no tc attach mode chosen");
}

int tc_detach(uint32_t mode, const char *pin_dir, uint64_t cgroup_id,
	      int ifindex, struct mlb_err *err)
{
	char path[256];

	if (mode == MLB_TC_TCX) {
		tcx_pin_path(pin_dir, ifindex, path, sizeof(path));
		return tcx_unpin(path, err);
	}
	if (mode == MLB_TC_CLSACT)
		return clsact_detach(cgroup_id, ifindex, err) < 0 ? -1 : 0;
	return 0;
}

bool tc_is_attached(uint32_t mode, uint64_t cgroup_id, int ifindex,
		    uint32_t prog_id)
{
	if (mode == MLB_TC_TCX) {
		__u32 ids[64], count = 64;

		if (bpf_prog_query(ifindex, MLB_BPF_TCX_INGRESS, 0, NULL, ids,
				   &count))
			return false;
		for (__u32 i = 0; i < count && i < 64; i++)
			if (ids[i] == prog_id)
				return true;
		return false;
	}
	if (mode == MLB_TC_CLSACT) {
		struct bpf_tc_hook hook;
		struct bpf_tc_opts opts;

		clsact_hook(ifindex, &hook);
		clsact_opts(cgroup_id, &opts);
		return bpf_tc_query(&hook, &opts) == 0 &&
		       opts.prog_id == prog_id;
	}
	return false;
}

static int detach_pinned_tcx(const char *pin_dir, struct mlb_err *err)
{
	struct dirent *de;
	char path[512];
	DIR *d = opendir(pin_dir);
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 :
		       mlb_fail(err, "reading %s: %s", pin_dir, strerror(errno));
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, TCX_PIN_PREFIX,
			    strlen(TCX_PIN_PREFIX)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		if (tcx_unpin(path, err))
			ret = -1;
	}
	closedir(d);
	return ret;
}

int tc_detach_all(const char *pin_dir, uint64_t cgroup_id,
		  struct mlb_err *err)
{
	struct if_nameindex *ifs, *i;
	int ret = 0;

	if (pin_dir && detach_pinned_tcx(pin_dir, err))
		ret = -1;
	ifs = if_nameindex();
	if (!ifs)
		return mlb_fail(err, "listing interfaces: %s", strerror(errno));
	for (i = ifs; i->if_index; i++)
		if (clsact_detach(cgroup_id, (int)i->if_index, err) < 0)
			ret = -1;
	if_freenameindex(ifs);
	return ret;
}
