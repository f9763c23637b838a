/* status.h - what is attached where, read from the pins and checked
 * against the kernel's routing (works with no daemon running): text for
 * people, --json for scripts.
 */
#ifndef MLB_STATUS_H
#define MLB_STATUS_H

#include <stdbool.h>

#include "error.h"

/* Show the attachment of one cgroup, or all (cgroup NULL), with each
 * one's routing compared with what the kernel holds.  Returns
 * ATTACHMENT_NONE (attachment.h) when a named cgroup has none, and
 * STATUS_INCONSISTENT when it found problems (damaged routing, see
 * repair.h; records and programs that disagree, see audit.h; a killed
 * command's journal, see journal.h): each is shown with the command that
 * repairs it, the first in err. */
#define STATUS_INCONSISTENT (-4)
int status_show(const char *cgroup, bool json, struct mlb_err *err);

#endif
