/* cgroup.c - the cgroup2 mount and cgroup2 directories (see cgroup.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup.h"

/* /proc/self/mounts escapes space, tab, newline and backslash as \ooo. */
static void unescape_mount_path(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

int cgroup_find_mount(char *buf, size_t len, struct mlb_err *err)
{
	char line[4096], dev[256], dir[PATH_MAX], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");

	if (!f)
		return mlb_fail(err, "reading /proc/self/mounts: %s",
				strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %4095s %63s", dev, dir, type) != 3)
			continue;
		if (strcmp(type, "cgroup2") != 0)
			continue;
		unescape_mount_path(dir);
		fclose(f);
		if (strlen(dir) >= len)
			return mlb_fail(err, "cgroup2 mount path too long");
		strcpy(buf, dir);
		return 0;
	}
	fclose(f);
	return mlb_fail(err, "no cgroup2 filesystem is mounted (see "
			"/proc/self/mounts); mount one or give --cgroup");
}

int cgroup_open(const char *path, char *canonical, size_t len, uint64_t *id,
		struct mlb_err *err)
{
	char real[PATH_MAX];
	struct statfs sfs;
	struct stat st;
	int fd;

	if (stat(path, &st))
		return mlb_fail(err, "cgroup \"%s\": %s", path,
				strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return mlb_fail(err, "cgroup \"%s\" is not a directory", path);
	if (statfs(path, &sfs))
		return mlb_fail(err, "cgroup \"%s\": %s", path,
				strerror(errno));
	if (sfs.f_type != CGROUP2_SUPER_MAGIC)
		return mlb_fail(err, "\"%s\" is not a cgroup2 directory "
				"(cgroup2 is mounted at the path "
				"/proc/self/mounts shows with type cgroup2)",
				path);
	if (!realpath(path, real))
		return mlb_fail(err, "cgroup \"%s\": %s", path,
				strerror(errno));
	if (strlen(real) >= len)
		return mlb_fail(err, "cgroup path \"%s\" is too long", real);
	strcpy(canonical, real);
	fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mlb_fail(err, "opening cgroup \"%s\": %s", real,
				strerror(errno));
	*id = st.st_ino;
	return fd;
}
