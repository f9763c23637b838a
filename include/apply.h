/* apply.h - bring the attachments of one network namespace to what a
 * configuration file says, changing only what differs:
 *
 *   - a policy whose cgroup has no attachment is attached;
 *   - an attachment whose cgroup has no policy in the file is detached
 *     (only attachments that route in the file's namespace are mlb-bpf's
 *     to manage here; others are left alone);
 *   - weights, destination rules, --sticky and probe settings change in
 *     place: one slot-table flip, a rewritten rule trie, the connect/
 *     sendmsg programs switched on or off; nothing is re-attached and
 *     existing sockets keep their uplinks;
 *   - masquerade or record-sockets changes re-attach that policy;
 *   - a change to the shared routing (the uplinks, their order, given
 *     gateways, marks, tables, priorities, last resort) re-attaches every
 *     policy of the namespace.
 *
 * Everything that can be checked before a change (cgroups, interfaces,
 * gateways) is checked for every policy first, so a bad file changes
 * nothing.
 */
#ifndef MLB_APPLY_H
#define MLB_APPLY_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "error.h"

/* Apply cf (read from file `name`, for messages).  With check, only say
 * what would change.  One line per change (or "unchanged") goes to out.
 * Returns 0, -1, or ATTACHMENT_BAD_INPUT when a policy can never work. */
int apply_config(const struct mlb_config_file *cf, const char *name,
		 bool check, FILE *out, struct mlb_err *err);

/* Parse the file at path, then apply_config it.  A file that does not
 * parse changes nothing and returns ATTACHMENT_BAD_INPUT. */
int apply_file(const char *path, bool check, FILE *out, struct mlb_err *err);

#endif
