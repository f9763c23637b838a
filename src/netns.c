/* netns.c - entering a network namespace by name or path (see netns.h). */
#define _GNU_SOURCE
#include <dirent.h>
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

/* An nsfs bind mount of that inode in the mount table. */
static bool mounted(uint64_t inode)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], where[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - nsfs ");

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ...; octal escapes in
		 * MOUNTPOINT (a space) are rare for netns paths: skipped */
		if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", where) == 1)
			found = netns_inode_of(where) == inode;
	}
	fclose(f);
	return found;
}

bool netns_inode_alive(uint64_t inode)
{
	char path[300];
	struct dirent *de;
	DIR *d;
	bool found;

	if (!inode || mounted(inode))
		return inode != 0;
	d = opendir("/proc");
	if (!d)
		return true;	/* cannot tell: say it is there */
	found = false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		found = netns_inode_of(path) == inode;
	}
	closedir(d);
	return found;
}

uint64_t netns_current_inode(void)
{
	return netns_inode_of("/proc/thread-self/ns/net");
}
