/* preflight.h - checks made before anything is changed: privileges,
 * failing with a message that names what is missing.  What the kernel
 * offers is kernel_features.h's.
 */
#ifndef MLB_PREFLIGHT_H
#define MLB_PREFLIGHT_H

#include "error.h"

/* CAP_BPF (or CAP_SYS_ADMIN) and CAP_NET_ADMIN in the effective set. */
int preflight_privileges(struct mlb_err *err);

#endif
