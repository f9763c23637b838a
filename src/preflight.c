/* preflight.c - privilege checks (see preflight.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

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
