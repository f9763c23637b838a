/* preflight.c - privilege and kernel feature checks (see preflight.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include <bpf/libbpf.h>

#include "preflight.h"

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_capability(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

int preflight_privileges(struct mlb_err *err)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};
	bool bpf, net_admin;

	if (syscall(SYS_capget, &hdr, data))
		return mlb_fail(err, "reading capabilities: %s",
				strerror(errno));
	bpf = has_capability(data, CAP_BPF) ||
	      has_capability(data, CAP_SYS_ADMIN);
	net_admin = has_capability(data, CAP_NET_ADMIN);
	if (!bpf || !net_admin)
		return mlb_fail(err, "permission denied: mlb-bpf needs root "
				"(missing %s%s%s)", bpf ? "" : "CAP_BPF",
				!bpf && !net_admin ? " and " : "",
				net_admin ? "" : "CAP_NET_ADMIN");
	return 0;
}

int preflight_kernel(struct mlb_err *err)
{
	const char *btf = getenv("MLB_KERNEL_BTF");
	int ret;

	if (!btf || !*btf)
		btf = "/sys/kernel/btf/vmlinux";
	if (access(btf, R_OK))
		return mlb_fail(err, "kernel without BTF (%s: %s): mlb-bpf "
				"needs a kernel built with "
				"CONFIG_DEBUG_INFO_BTF=y", btf,
				strerror(errno));
	ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK, NULL);
	if (ret == 0)
		return mlb_fail(err, "kernel without cgroup BPF socket "
				"programs: mlb-bpf needs CONFIG_CGROUP_BPF=y");
	if (ret < 0)
		return mlb_fail(err, "probing cgroup BPF support: %s",
				strerror(-ret));
	return 0;
}
