/* lock.c - the writers' lock (see lock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"

static int lock_fd = -1;
static unsigned lock_depth;

/* The pid the holder wrote, or 0. */
static long holder_pid(int fd)
{
	char buf[32] = { 0 };
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	return n > 0 ? strtol(buf, NULL, 10) : 0;
}

static void write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) < 0)
		return;	/* the pid is only informative */
}

int mlb_lock(struct mlb_err *err)
{
	const struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
	unsigned tries = MLB_LOCK_WAIT_S * 100;
	int fd;

	if (lock_depth > 0) {
		lock_depth++;
		return 0;
	}
	if (mkdir(MLB_RUN_DIR, 0755) && errno != EEXIST)
		return mlb_fail(err, "creating %s: %s", MLB_RUN_DIR,
				strerror(errno));
	fd = open(MLB_LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return mlb_fail(err, "opening %s: %s", MLB_LOCK_PATH,
				strerror(errno));
	while (flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = errno;

			close(fd);
			return mlb_fail(err, "locking %s: %s", MLB_LOCK_PATH,
					strerror(e));
		}
		if (--tries == 0) {
			long pid = holder_pid(fd);

			close(fd);
			return mlb_fail(err, "another mlb-bpf (pid %ld) has "
					"held %s for %d s; try again when it "
					"is done", pid, MLB_LOCK_PATH,
					MLB_LOCK_WAIT_S);
		}
		nanosleep(&pause, NULL);
	}
	write_pid(fd);
	lock_fd = fd;
	lock_depth = 1;
	return 0;
}

void mlb_unlock(void)
{
	if (lock_depth == 0 || --lock_depth > 0)
		return;
	close(lock_fd);		/* drops the flock */
	lock_fd = -1;
}

bool mlb_lock_outermost(void)
{
	return lock_depth == 1;
}

bool mlb_lock_busy(void)
{
	int fd = open(MLB_LOCK_PATH, O_RDONLY | O_CLOEXEC);
	bool busy;

	if (fd < 0)
		return false;
	busy = flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);		/* drops the flock if it was taken */
	return busy;
}
