/* watch.h - the health daemon: keeps new sockets off dead uplinks.
 *
 * For every pinned attachment (including ones made while it runs), watch
 * probes each uplink through that uplink, follows link events over
 * netlink (carrier, admin state, addresses, routes), marks an uplink down
 * after `down` failed probes in a row or at once on a link event, and back
 * up after `up` good probes (one, if a link event took it down),
 * rewriting the slot table with one flip.  On every event and probe round
 * it looks each uplink up again (a new index, address or gateway) and,
 * under the writers' lock, records that and puts the uplink's table and
 * rules back as the record says (route_reconcile: the kernel drops them
 * when a link goes down); a probe only counts while they are complete.
 * Killing watch leaves the last slot table and health in place.
 */
#ifndef MLB_WATCH_H
#define MLB_WATCH_H

#include "error.h"
#include "watch_defaults.h"

void watch_default_settings(struct watch_defaults *d);

/* Run until SIGTERM or SIGINT.  Returns 0 then, -1 on a fatal error (a
 * configuration file that cannot be applied at start is one). */
int watch_run(const struct watch_defaults *defaults, struct mlb_err *err);

#endif
