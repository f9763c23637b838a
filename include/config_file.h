/* config_file.h - what a configuration file says, as data: the uplinks,
 * the policies and their destination rules, as config.h's parser fills
 * them in.  Types only, so that the parser's lower half (config_keys.c)
 * and every reader of the result can share them without reaching up to
 * the parser's functions.
 */
#ifndef MLB_CONFIG_FILE_H
#define MLB_CONFIG_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "options.h"

#define MLB_CONFIG_DEFAULT_PATH "/etc/mlb-bpf/mlb-bpf.conf"
#define MLB_CONFIG_MAX_POLICIES 128

struct mlb_config_policy {
	char cgroup[256];		/* as written, trailing '/' removed */
	unsigned line;			/* of its [policy ...] header */
	/* Weight per uplink of the file (same index as uplinks[]); 0: the
	 * policy does not use it.  At least one is non-zero. */
	unsigned weights[MLB_MAX_UPLINKS];
	struct mlb_dest_spec dests[MLB_STATE_MAX_DESTS];	/* global's first */
	unsigned ndests;
	unsigned sticky_seconds;	/* 0: off */
	unsigned balance;		/* MLB_BALANCE_* */
	unsigned floor_pct;		/* floor =, 0: the default */
	bool record_sockets;
	char lan[MLB_MAX_LAN][IF_NAMESIZE];	/* in one policy at most */
	unsigned nlan;
};

struct mlb_config_file {
	char netns[256];		/* "": the namespace apply runs in */
	uint32_t mark_base, mark_mask, table_base, priority;
	bool masquerade;
	unsigned last_resort;		/* MLB_LAST_RESORT_* */
	struct mlb_uplink_spec uplinks[MLB_MAX_UPLINKS];	/* .weight: default */
	unsigned uplink_lines[MLB_MAX_UPLINKS];
	unsigned nuplinks;
	struct mlb_config_policy policies[MLB_CONFIG_MAX_POLICIES];
	unsigned npolicies;
};

#endif
