/* audit.c - pins against the kernel's links (see audit.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "audit.h"
#include "cgroup.h"
#include "loader.h"

#define MAX_PINNED_LINKS 1024

/* Names the kernel keeps for mlb-bpf's programs (the first 15 bytes of
 * the function names in bpf/). */
static const char *const our_programs[] = {
	"mlb_sock_create", "mlb_connect4", "mlb_sendmsg4", "mlb_connect6",
	"mlb_sendmsg6",
};

static bool is_ours(const char *name)
{
	for (size_t i = 0; i < sizeof(our_programs) / sizeof(our_programs[0]);
	     i++)
		if (!strcmp(name, our_programs[i]))
			return true;
	return false;
}

static int link_info(int fd, struct bpf_link_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len);
}

enum audit_link audit_record_link(uint64_t cgroup_id)
{
	char dir[128], path[PATH_MAX];
	struct bpf_link_info info;
	int fd;

	loader_pin_dir(cgroup_id, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/link", dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return AUDIT_LINK_MISSING;
	if (link_info(fd, &info)) {
		close(fd);
		return AUDIT_LINK_MISSING;
	}
	close(fd);
	return info.cgroup.cgroup_id == cgroup_id ? AUDIT_LINK_OK :
						    AUDIT_LINK_DETACHED;
}

/* Ids of the links pinned in published attachment directories. */
static unsigned pinned_links(uint32_t *ids, unsigned max)
{
	uint64_t cgroups[256];
	unsigned ncg = loader_list(cgroups, 256), n = 0;

	for (unsigned c = 0; c < ncg; c++) {
		char dir[128], path[PATH_MAX];
		struct dirent *de;
		DIR *d;

		loader_pin_dir(cgroups[c], dir, sizeof(dir));
		d = opendir(dir);
		if (!d)
			continue;
		while ((de = readdir(d)) && n < max) {
			struct bpf_link_info info;
			int fd;

			if (strncmp(de->d_name, "link", 4))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			fd = bpf_obj_get(path);
			if (fd < 0)
				continue;
			if (link_info(fd, &info) == 0)
				ids[n++] = info.id;
			close(fd);
		}
		closedir(d);
	}
	return n;
}

static bool pinned(uint32_t id, const uint32_t *ids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Whether the link fd runs one of our programs on a cgroup; fills s. */
static bool our_cgroup_link(int fd, struct audit_stray *s)
{
	struct bpf_link_info info;
	struct bpf_prog_info prog = { 0 };
	__u32 len = sizeof(prog);
	int prog_fd;
	bool ours;

	if (link_info(fd, &info) || info.type != BPF_LINK_TYPE_CGROUP ||
	    !info.cgroup.cgroup_id)
		return false;
	prog_fd = bpf_prog_get_fd_by_id(info.prog_id);
	if (prog_fd < 0)
		return false;
	ours = bpf_obj_get_info_by_fd(prog_fd, &prog, &len) == 0 &&
	       is_ours(prog.name);
	close(prog_fd);
	s->cgroup_id = info.cgroup.cgroup_id;
	s->link_id = info.id;
	s->prog_id = info.prog_id;
	snprintf(s->prog_name, sizeof(s->prog_name), "%s", prog.name);
	return ours;
}

/* Walk every BPF link; act on ours on cgroup_id that are not pinned. */
static unsigned for_strays(uint64_t cgroup_id, struct audit_stray *out,
			   unsigned max, bool detach)
{
	static uint32_t ids[MAX_PINNED_LINKS];
	unsigned npinned = pinned_links(ids, MAX_PINNED_LINKS), n = 0;
	__u32 id = 0;

	while (n < max && bpf_link_get_next_id(id, &id) == 0) {
		struct audit_stray s;
		int fd = bpf_link_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (our_cgroup_link(fd, &s) && !pinned(s.link_id, ids, npinned) &&
		    (!cgroup_id || s.cgroup_id == cgroup_id)) {
			if (!detach || bpf_link_detach(fd) == 0)
				out[n++] = s;
		}
		close(fd);
	}
	return n;
}

unsigned audit_strays(uint64_t cgroup_id, struct audit_stray *out,
		      unsigned max)
{
	return for_strays(cgroup_id, out, max, false);
}

int audit_detach_strays(uint64_t cgroup_id)
{
	struct audit_stray s[64];

	return (int)for_strays(cgroup_id, s, 64, true);
}

static uint64_t wanted_id;
static char *found_path;
static size_t found_len;

static int match_id(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_D || st->st_ino != wanted_id)
		return 0;
	snprintf(found_path, found_len, "%s", path);
	return 1;
}

void audit_cgroup_path(uint64_t cgroup_id, char *buf, size_t len)
{
	char mount[PATH_MAX];
	struct mlb_err ignored;

	buf[0] = '\0';
	if (cgroup_find_mount(mount, sizeof(mount), &ignored))
		return;
	wanted_id = cgroup_id;
	found_path = buf;
	found_len = len;
	nftw(mount, match_id, 16, FTW_PHYS | FTW_MOUNT);
}
