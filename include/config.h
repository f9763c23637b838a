/* config.h - the configuration file (/etc/mlb-bpf/mlb-bpf.conf): uplinks,
 * per-cgroup policies and destination rules, parsed (with inih) and
 * checked without touching the kernel, so `apply --check` and the fuzzer
 * can run it on anything.
 *
 *   [global]                      ; all optional
 *   netns = NAME|PATH             ; route and masquerade there
 *   mark-base = 0x10
 *   mark-mask = 0xff
 *   table-base = 7100
 *   priority = 7100
 *   masquerade = yes|no              ; default no (conntrack-free)
 *   last-resort = main|unreachable
 *   bypass = PREFIX[, PREFIX...]  ; for every policy (may repeat)
 *   pin = PREFIX:IFACE[, ...]     ; for every policy (may repeat)
 *   sticky = SECONDS              ; default for every policy
 *
 *   [uplink IFACE]                ; one per uplink, in mark/table order
 *   weight = N                    ; default weight in policies (1)
 *   gateway = ADDR
 *   gateway6 = ADDR6
 *   probe = ADDR[, ADDR]
 *   probe-type = icmp|tcp:PORT|arp
 *   interval = S
 *   timeout = S
 *   down = N
 *   up = N
 *
 *   [policy CGROUP-PATH]          ; one per balanced cgroup
 *   uplinks = IFACE[:WEIGHT][, IFACE[:WEIGHT]...]   ; default: every uplink
 *   bypass = PREFIX[, ...]        ; added to [global]'s
 *   pin = PREFIX:IFACE[, ...]     ; added to [global]'s
 *   sticky = SECONDS|off          ; overrides [global]'s
 *   record-sockets = yes|no
 *   lan = IFACE[, IFACE...]       ; balance the flows forwarded for the
 *                                 ; clients behind them (--lan)
 *
 * Sections come in any order (a policy may name an uplink defined further
 * down); each [uplink] and [policy] once, the path compared without its
 * trailing '/'.  Lists are separated by commas or blanks; bypass and pin
 * may be given again and add up, every other key is given once.  A lan
 * interface is in one policy at most and is not an [uplink].  Booleans
 * are yes/no, true/false, on/off or 1/0; sticky is 1 to 86400 seconds.
 * Zero policies is valid: nothing is balanced.
 *
 * Lines are read as inih's default build (Debian's) reads them: a line
 * whose first non-blank character is '#' or ';' is a comment; after a
 * value or a header, ';' with a blank before it starts a comment, but
 * '#' does not (it is refused there).  An indented line continues the
 * list above it (bypass, pin, probe, uplinks), even after blank and
 * comment lines, so keys are not indented.  "key: value" is read as
 * "key = value".  A line holds at most 198 characters (inih's 200-byte
 * buffer with the end of line); a longer one is refused, never cut.
 *
 * Errors are one line, "FILE:LINE: what is wrong"; the first one wins.
 */
#ifndef MLB_CONFIG_H
#define MLB_CONFIG_H

#include "attach_request.h"
#include "config_file.h"
#include "error.h"

/* Parse text (name is the file name used in messages).  out is large:
 * allocate it.  Returns 0, or -1 with "NAME:LINE: ..." in err. */
int config_parse_string(const char *text, const char *name,
			struct mlb_config_file *out, struct mlb_err *err);

/* Read and parse a file; a missing or unreadable file is an error that
 * names it. */
int config_parse_file(const char *path, struct mlb_config_file *out,
		      struct mlb_err *err);

/* The attach request for policy p: every uplink of the file, in file
 * order, with the policy's weights (0 for uplinks it does not use). */
void config_policy_request(const struct mlb_config_file *cf, unsigned p,
			   struct attach_request *req);

#endif
