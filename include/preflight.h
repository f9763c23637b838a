/* preflight.h - checks made before anything is changed: privileges and
 * kernel features, each failing with a message that names what is missing.
 */
#ifndef MLB_PREFLIGHT_H
#define MLB_PREFLIGHT_H

#include "error.h"

/* CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN in the effective set. */
int preflight_privileges(struct mlb_err *err);

/* Kernel BTF (at $MLB_KERNEL_BTF if set, else /sys/kernel/btf/vmlinux)
 * and cgroup socket programs. */
int preflight_kernel(struct mlb_err *err);

#endif
