/* attach_request.h - what `attach` was asked to do, after option parsing:
 * a type only.  The command line (main.c) and the configuration file
 * (config.c) fill it in; the attachment's steps (attachment.h) carry it
 * out, so it sits below both.
 */
#ifndef MLB_ATTACH_REQUEST_H
#define MLB_ATTACH_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>

#include "options.h"
#include "state.h"

struct attach_request {
	const char *cgroup;		/* NULL: the cgroup2 mount point */
	const char *netns;		/* NULL: this namespace */
	struct mlb_uplink_spec uplinks[MLB_MAX_UPLINKS];
	unsigned nuplinks;
	uint32_t mark_base;
	uint32_t mark_mask;
	uint32_t table_base;
	uint32_t priority;
	bool masquerade;
	bool record_sockets;
	unsigned last_resort;		/* MLB_LAST_RESORT_* */
	struct mlb_dest_spec dests[MLB_STATE_MAX_DESTS];
	unsigned ndests;
	unsigned sticky_seconds;
	unsigned balance;		/* MLB_BALANCE_* */
	unsigned floor_pct;		/* --floor (0: the default) */
	char lan[MLB_MAX_LAN][IF_NAMESIZE];	/* --lan interfaces */
	unsigned nlan;
};

#endif
