/* watch_repair.h - what watch puts back as an attachment's record says
 * (watch_repair.c).  Not part of any public API.
 */
#ifndef MLB_WATCH_REPAIR_H
#define MLB_WATCH_REPAIR_H

#include "watch_internal.h"

/* In a's namespace, under the writers' lock: record next (what the link
 * checks found) and make the routing what the record says.  Of the
 * attachments of all[0..n) sharing a's routing, the first repairs it. */
void watch_repair_routing(struct attachment_watch *a,
			  struct attachment_watch *all, unsigned n,
			  struct mlb_state *next);

/* In a's namespace, after an event: containers started since get the tc
 * program, those gone lose what was kept of them, and a --lan interface
 * made again gets its program back. */
void watch_refresh_forward(struct attachment_watch *a);

/* In a's namespace, on every event and probe round: its nftables table
 * made again if it is wanted and gone. */
void watch_reconcile_nat(struct attachment_watch *a);

#endif
