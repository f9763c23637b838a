/* loader_capacity.c - the pinned capacity map (see loader_capacity.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "loader.h"
#include "loader_capacity.h"
#include "loader_hooks.h"

#define PIN_CAPACITY "capacity"

static int check_layout(int fd, const char *path, struct mlb_err *err)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return mlb_fail(err, "reading %s: %s", path, strerror(errno));
	if (info.value_size != sizeof(struct mlb_capacity) ||
	    info.max_entries < MLB_MAX_UPLINKS)
		return mlb_fail(err, "%s has entries of %u bytes, expected "
				"%zu (made by another version of mlb-bpf?)",
				path, info.value_size,
				sizeof(struct mlb_capacity));
	return 0;
}

int loader_open_capacity(uint64_t cgroup_id, bool create, struct mlb_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int fd;

	err->msg[0] = 0;
	loader_pin_dir(cgroup_id, dir, sizeof(dir));
	loader_pin_path(dir, PIN_CAPACITY, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0 && errno == ENOENT && create) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mlb_capacity",
				    sizeof(__u32), sizeof(struct mlb_capacity),
				    MLB_MAX_UPLINKS, NULL);
		if (fd < 0)
			return mlb_fail(err, "making %s: %s", path,
					strerror(errno));
		if (bpf_obj_pin(fd, path) == 0)
			return fd;
		close(fd);
		if (errno != EEXIST)
			return mlb_fail(err, "pinning %s: %s", path,
					strerror(errno));
		fd = bpf_obj_get(path);	/* another watch was first */
	}
	if (fd < 0) {
		if (errno == ENOENT && !create)
			return -1;
		return mlb_fail(err, "opening %s: %s", path, strerror(errno));
	}
	if (check_layout(fd, path, err)) {
		close(fd);
		return -1;
	}
	return fd;
}

int loader_read_capacity(int fd, unsigned n, struct mlb_capacity *out,
			 struct mlb_err *err)
{
	for (__u32 i = 0; i < n && i < MLB_MAX_UPLINKS; i++)
		if (bpf_map_lookup_elem(fd, &i, &out[i]))
			return mlb_fail(err, "reading the capacity map: %s",
					strerror(errno));
	return 0;
}

int loader_write_capacity(int fd, unsigned i, const struct mlb_capacity *c,
			  struct mlb_err *err)
{
	__u32 key = i;

	if (bpf_map_update_elem(fd, &key, c, BPF_ANY))
		return mlb_fail(err, "writing the capacity map: %s",
				strerror(errno));
	return 0;
}

bool loader_capacity_weights(uint64_t cgroup_id, unsigned n,
			     unsigned *weights)
{
	struct mlb_capacity c[MLB_MAX_UPLINKS];
	struct mlb_err ignored;
	bool set = false;

	if (n > MLB_MAX_UPLINKS ||
	    loader_capacity_view(cgroup_id, n, c, &ignored))
		return false;
	for (unsigned i = 0; i < n; i++) {
		weights[i] = c[i].weight;
		set |= c[i].why != 0;
	}
	return set;
}

int loader_capacity_view(uint64_t cgroup_id, unsigned n,
			 struct mlb_capacity *out, struct mlb_err *err)
{
	int fd = loader_open_capacity(cgroup_id, false, err), ret;

	memset(out, 0, n * sizeof(*out));
	if (fd < 0)
		return err->msg[0] ? -1 : 0;
	ret = loader_read_capacity(fd, n, out, err);
	close(fd);
	return ret;
}
