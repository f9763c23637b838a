/* loader_hooks.c - the attachment's programs beside sock_create: connect
 * and sendmsg (destination rules, --sticky, and the live count of
 * least-conn) and sock_release (least-conn's count going back).  They are
 * pinned as programs in every attachment whose kernel can run them, and
 * attached (a pinned link each) only while the attachment needs them, so
 * apply turns them on and off in place, without loading anything again
 * and without touching the sock_create link.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader_hooks.h"
#include "loader_internal.h"
#include "mlb.h"

/* What a hook is attached for. */
#define FOR_DEST 0x1		/* destination rules or --sticky */
#define FOR_CONNS 0x2		/* least-conn's live counts */

static const struct hook {
	const char *prog_pin;
	const char *link_pin;
	enum bpf_attach_type type;
	unsigned wanted_for;
} hooks[] = {
	{ "prog_connect4", "link_connect4", BPF_CGROUP_INET4_CONNECT,
	  FOR_DEST | FOR_CONNS },
	{ "prog_sendmsg4", "link_sendmsg4", BPF_CGROUP_UDP4_SENDMSG, FOR_DEST },
	{ "prog_connect6", "link_connect6", BPF_CGROUP_INET6_CONNECT,
	  FOR_DEST | FOR_CONNS },
	{ "prog_sendmsg6", "link_sendmsg6", BPF_CGROUP_UDP6_SENDMSG, FOR_DEST },
	{ "prog_sock_release", "link_sock_release", BPF_CGROUP_INET_SOCK_RELEASE,
	  FOR_CONNS },
};
#define NHOOKS (sizeof(hooks) / sizeof(hooks[0]))

void loader_pin_path(const char *dir, const char *name, char *buf,
		     size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* Unpin one pinned object; a link is detached from its cgroup first.
 * Dropping a link's last reference detaches it too, but only once the
 * pin's inode is freed, after an RCU grace period: a program could still
 * mark a few sockets after detach returned. */
int loader_unpin(const char *path)
{
	const char *name = strrchr(path, '/');

	if (name && !strncmp(name + 1, "link", 4)) {
		int fd = bpf_obj_get(path);

		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
	}
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

static unsigned wanted_for(const struct mlb_state *state)
{
	return (loader_wants_dest_programs(state) ? FOR_DEST : 0) |
	       (mlb_balance_counts_conns(state->balance) ? FOR_CONNS : 0);
}

/* The release hook stays once attached, until detach: a socket counted
 * in least-conn is taken back on close even after apply went back to rr,
 * so the counts are right if least-conn comes again. */
static bool keep_attached(const struct hook *h)
{
	return h->type == BPF_CGROUP_INET_SOCK_RELEASE;
}

static int attach_hook(int cgroup_fd, const char *dir, const struct hook *h,
		       struct mlb_err *err)
{
	char path[PATH_MAX];
	int prog_fd, link_fd;

	loader_pin_path(dir, h->link_pin, path, sizeof(path));
	if (access(path, F_OK) == 0)
		return 0;
	loader_pin_path(dir, h->prog_pin, path, sizeof(path));
	prog_fd = bpf_obj_get(path);
	if (prog_fd < 0)
		return mlb_fail(err, "opening %s: %s", path, strerror(errno));
	link_fd = bpf_link_create(prog_fd, cgroup_fd, h->type, NULL);
	close(prog_fd);
	if (link_fd < 0)
		return mlb_fail(err, "attaching %s: %s", h->prog_pin,
				strerror(errno));
	loader_pin_path(dir, h->link_pin, path, sizeof(path));
	if (bpf_obj_pin(link_fd, path)) {
		int e = errno;

		close(link_fd);
		return mlb_fail(err, "pinning %s: %s", path, strerror(e));
	}
	close(link_fd);		/* the pin keeps it attached */
	return 0;
}

int loader_sync_hooks(int cgroup_fd, const char *dir,
		      const struct mlb_state *state, struct mlb_err *err)
{
	unsigned want = wanted_for(state);
	char path[PATH_MAX];

	for (size_t i = 0; i < NHOOKS; i++) {
		int ret;

		if (hooks[i].wanted_for & want) {
			if (attach_hook(cgroup_fd, dir, &hooks[i], err))
				return -1;
			continue;
		}
		if (keep_attached(&hooks[i]))
			continue;
		loader_pin_path(dir, hooks[i].link_pin, path, sizeof(path));
		ret = loader_unpin(path);
		if (ret)
			return mlb_fail(err, "removing %s: %s", path,
					strerror(-ret));
	}
	return 0;
}

int loader_pin_hooks(struct mlb_bpf *skel, const char *dir,
		     struct mlb_err *err)
{
	struct bpf_program *progs[NHOOKS] = {
		skel->progs.mlb_connect4, skel->progs.mlb_sendmsg4,
		skel->progs.mlb_connect6, skel->progs.mlb_sendmsg6,
		skel->progs.mlb_sock_release,
	};
	char path[PATH_MAX];

	for (size_t i = 0; i < NHOOKS; i++) {
		if (!bpf_program__autoload(progs[i]))
			continue;	/* this kernel cannot run them */
		loader_pin_path(dir, hooks[i].prog_pin, path, sizeof(path));
		if (bpf_program__pin(progs[i], path))
			return mlb_fail(err, "pinning %s: %s", path,
					strerror(errno));
	}
	return 0;
}
