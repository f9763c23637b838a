/* loader.h - the BPF side of an attachment: load the program (libbpf
 * skeleton), fill its maps, attach it to a cgroup with a BPF link, and pin
 * link and maps under MLB_PIN_ROOT/<cgroup id>/ so they outlive this
 * process; later, find them again from the pins to read counters, rewrite
 * weights or remove them.
 */
#ifndef MLB_LOADER_H
#define MLB_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "state.h"

#define MLB_BPFFS "/sys/fs/bpf"
#define MLB_PIN_ROOT MLB_BPFFS "/mlb"

/* File descriptors of one attachment's pinned objects. */
struct mlb_pins {
	uint64_t cgroup_id;
	int link;
	int settings;
	int slots;
	int counters;
	int sk_uplink;		/* -1 where the kernel has no socket storage */
	int state;
	int health;
	int dest_rules;
	int sticky;
	int conns;		/* live connections per uplink (least-conn) */
};

/* Facts about the attached program, for status. */
struct mlb_prog_info {
	uint32_t prog_id;
	uint32_t link_id;
	uint32_t attach_type;		/* enum bpf_attach_type of the link */
	uint64_t run_time_ns;		/* with kernel.bpf_stats_enabled=1 */
	uint64_t run_cnt;
};

/* The tc programs' pins in an attachment's directory (forward.h). */
#define LOADER_PIN_TC_CONTAINER "prog_tc_container"
#define LOADER_PIN_TC_LAN "prog_tc_lan"	/* only with --lan */
/* New LAN flows per uplink (per-CPU array, lan.h). */
#define LOADER_PIN_LAN_FLOWS "lan_flows"

/* A file descriptor of the program pinned as name in cgroup_id's
 * attachment (LOADER_PIN_TC_*), or -1 with a message. */
int loader_open_program(uint64_t cgroup_id, const char *name,
			struct mlb_err *err);

/* Mount bpffs at MLB_BPFFS if nothing is mounted there. */
int loader_ensure_bpffs(struct mlb_err *err);

void loader_pin_dir(uint64_t cgroup_id, char *buf, size_t len);

/* Whether an attachment for this cgroup is pinned. */
bool loader_is_attached(uint64_t cgroup_id);

/* Load the program, write settings, slot table and the state record, attach
 * to cgroup_fd and pin everything.  All or nothing: on failure no program
 * stays attached and no pin remains. */
int loader_attach(const struct mlb_state *state, int cgroup_fd,
		  struct mlb_err *err);

/* Open the pins of the attachment for cgroup_id.  Fails with a message if
 * there is none. */
int loader_open(uint64_t cgroup_id, struct mlb_pins *pins,
		struct mlb_err *err);
void loader_close(struct mlb_pins *pins);

int loader_read_state(const struct mlb_pins *pins, struct mlb_state *out,
		      struct mlb_err *err);

/* The record of cgroup_id's attachment from its state pin alone, so that
 * an attachment missing other pins can still be shown and removed. */
int loader_read_record(uint64_t cgroup_id, struct mlb_state *out,
		       struct mlb_err *err);

/* Sockets assigned to each uplink so far (summed over CPUs). */
int loader_read_counts(const struct mlb_pins *pins, unsigned nuplinks,
		       uint64_t *counts, struct mlb_err *err);

/* Live connections per uplink: TCP and connected UDP sockets counted by
 * least-conn, open now. */
int loader_read_conns(const struct mlb_pins *pins, unsigned nuplinks,
		      uint64_t *live, struct mlb_err *err);

int loader_prog_info(const struct mlb_pins *pins, struct mlb_prog_info *info,
		     struct mlb_err *err);

/* What status and metrics show of one attachment, read at once: its
 * record, sockets per uplink (and, last, the unreachable mark's), each
 * uplink's health and the program's facts.  counts has room for
 * MLB_MAX_UPLINKS + 1, health for MLB_MAX_UPLINKS. */
int loader_read_attachment(const struct mlb_pins *pins, struct mlb_state *state,
			   uint64_t *counts, struct mlb_health *health,
			   struct mlb_prog_info *prog, struct mlb_err *err);

/* Health of uplinks 0..n-1, and of one uplink (written by watch). */
int loader_read_health(const struct mlb_pins *pins, unsigned n,
		       struct mlb_health *out, struct mlb_err *err);
int loader_write_health(const struct mlb_pins *pins, unsigned i,
			const struct mlb_health *h, struct mlb_err *err);

/* Replace the state record (an uplink's gateway or address changed).
 * An older mlb-bpf's record is replaced by one of today's layout, in a
 * map of today's size under the same pin (pins->state changes). */
int loader_write_state(struct mlb_pins *pins, const struct mlb_state *state,
		       struct mlb_err *err);

/* Rewrite the idle slot table for these weights (0 = leave the uplink
 * out) and make it the live one: one flip, no re-attach. */
int loader_set_weights(const struct mlb_pins *pins, const unsigned *weights,
		       unsigned n, struct mlb_err *err);

/* Make the destination rules and --sticky what state says, in place:
 * rewrite the rule trie and the sticky setting, and attach (or detach)
 * the connect/sendmsg programs to cgroup_fd as rules come (or go). */
int loader_set_destinations(const struct mlb_pins *pins,
			    const struct mlb_state *state, int cgroup_fd,
			    struct mlb_err *err);

/* Make the balancing mode what state says, in place: the settings'
 * mode and the counting hooks (connect, release), never a re-attach. */
int loader_set_balance(const struct mlb_pins *pins,
		       const struct mlb_state *state, int cgroup_fd,
		       struct mlb_err *err);

/* Where loader_attach pins before publishing (renaming it to the pin
 * directory): a link pinned there keeps its program attached. */
void loader_staging_dir(uint64_t cgroup_id, char *buf, size_t len);

/* Detach the program and remove every pin of the attachment, and what
 * an interrupted attach left in its staging directory. */
int loader_remove(uint64_t cgroup_id, struct mlb_err *err);

/* Cgroup ids of all pinned attachments; returns how many (up to max). */
unsigned loader_list(uint64_t *ids, unsigned max);

#endif
