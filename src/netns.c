/* netns.c - entering a network namespace by name or path (see netns.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netns.h"

static int home_fd = -1;

int netns_save_home(struct mlb_err *err)
{
	if (home_fd >= 0)
		return 0;
	home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_fd < 0)
		return mlb_fail(err, "opening own network namespace: %s",
				strerror(errno));
	return 0;
}

int netns_hold_current(struct mlb_err *err)
{
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return mlb_fail(err, "opening own network namespace: %s",
				strerror(errno));
	return fd;
}

int netns_go_back(int held, struct mlb_err *err)
{
	int ret = 0;

	if (setns(held, CLONE_NEWNET))
		ret = mlb_fail(err, "returning to own network namespace: %s",
			       strerror(errno));
	close(held);
	return ret;
}

int netns_return_home(struct mlb_err *err)
{
	if (home_fd < 0 || setns(home_fd, CLONE_NEWNET))
		return mlb_fail(err, "returning to own network namespace: %s",
				home_fd < 0 ? "not saved" : strerror(errno));
	return 0;
}

void netns_resolve(const char *name_or_path, char *path, size_t len)
{
	if (strchr(name_or_path, '/'))
		snprintf(path, len, "%s", name_or_path);
	else
		snprintf(path, len, "/run/netns/%s", name_or_path);
}

int netns_enter(const char *path, struct mlb_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return mlb_fail(err, "network namespace \"%s\": %s", path,
				strerror(errno));
	if (setns(fd, CLONE_NEWNET)) {
		int e = errno;

		close(fd);
		return mlb_fail(err, "entering network namespace \"%s\": %s",
				path, e == EINVAL ? "not a network namespace" :
				strerror(e));
	}
	close(fd);
	return 0;
}

uint64_t netns_inode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? 0 : (uint64_t)st.st_ino;
}

uint64_t netns_current_inode(void)
{
	return netns_inode_of("/proc/thread-self/ns/net");
}
