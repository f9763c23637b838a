/* options.h - parsing and validating what the user asked for: uplink
 * specs, numbers, marks and tables.  Pure C, no kernel access, so it is
 * unit-tested on its own (tests/unit/).
 */
#ifndef MLB_OPTIONS_H
#define MLB_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <net/if.h>

#include "error.h"
#include "mlb.h"
#include "state.h"

#define MLB_WEIGHT_MIN 1
#define MLB_WEIGHT_MAX 1000

/* One --uplink IFACE[,weight=N][,gateway=ADDR][,gateway6=ADDR6]
 * [,probe=ADDR[,ADDR]]
 * [,probe-type=icmp|tcp:PORT|arp][,interval=S][,timeout=S][,down=N]
 * [,up=N] as given.  Health fields left 0 take `watch`'s defaults. */
struct mlb_uplink_spec {
	char ifname[IF_NAMESIZE];
	unsigned weight;		/* default 1 */
	bool has_gateway;
	struct in_addr gateway;
	bool has_gateway6;
	struct in6_addr gateway6;
	struct in_addr probes[MLB_MAX_PROBES];
	unsigned nprobes;
	unsigned probe_type;		/* MLB_PROBE_* */
	unsigned probe_port;
	unsigned interval_ms;
	unsigned timeout_ms;
	unsigned down;
	unsigned up;
	bool fixed;			/* adapt=no: --balance adaptive keeps weight */
};

#define MLB_COUNT_MAX 100		/* down=, up= */
#define MLB_SECONDS_MAX 3600		/* interval=, timeout= */

/* Parse one --uplink argument.  Errors name the spec and the bad key. */
int mlb_parse_uplink(const char *arg, struct mlb_uplink_spec *out,
		     struct mlb_err *err);

/* Set one KEY=VALUE of an uplink spec whose ifname is set (weight,
 * gateway, gateway6, probe, probe-type, interval, timeout, down, up,
 * adapt), as
 * a configuration file gives them; probe takes a list of addresses
 * separated by commas or spaces.  Errors name the uplink and the key. */
int mlb_uplink_set(struct mlb_uplink_spec *out, const char *key,
		   const char *value, struct mlb_err *err);

/* Parse an unsigned 32-bit number (decimal or 0x hex), whole string.
 * `what` names the option in the error ("--mark-base"). */
int mlb_parse_u32(const char *arg, const char *what, uint32_t *out,
		  struct mlb_err *err);

/* A duration in seconds with up to three decimals ("0.5", "2"), more
 * than 0 and at most MLB_SECONDS_MAX, in milliseconds. */
int mlb_parse_seconds(const char *arg, const char *what, unsigned *ms,
		      struct mlb_err *err);

/* A destination rule as given: --bypass PREFIX or --pin PREFIX:IFACE,
 * IPv4 or IPv6. */
struct mlb_dest_spec {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* host bits cleared; IPv4: 4 bytes */
	unsigned prefixlen;		/* 0..32 or 0..128 */
	unsigned action;		/* MLB_DEST_BYPASS or MLB_DEST_PIN */
	char ifname[IF_NAMESIZE];	/* MLB_DEST_PIN */
};

/* "ADDR[/LEN]" (bypass) or "ADDR[/LEN]:IFACE" (pin); ADDR is IPv4 or
 * IPv6 (a pin's interface follows the last ':'). */
int mlb_parse_dest(const char *arg, unsigned action, struct mlb_dest_spec *out,
		   struct mlb_err *err);

/* Add one --lan IFACE to names[0..*n): a valid interface name, not given
 * before, at most MLB_MAX_LAN. */
int mlb_add_lan(char (*names)[IF_NAMESIZE], unsigned *n, const char *arg,
		struct mlb_err *err);

/* --balance and balance =: "rr", "least-conn" or "adaptive" into
 * MLB_BALANCE_*.  The error names what (the option or the key) and the
 * value. */
int mlb_parse_balance(const char *arg, const char *what, unsigned *out,
		      struct mlb_err *err);

/* --floor and floor =: a percentage, MLB_FLOOR_MIN..MLB_FLOOR_MAX. */
int mlb_parse_floor(const char *arg, const char *what, unsigned *out,
		    struct mlb_err *err);

/* The word for a balancing mode, as the user writes it. */
const char *mlb_balance_name(unsigned balance);

/* Refuse an uplink named twice. */
int mlb_check_duplicates(const struct mlb_uplink_spec *specs, unsigned n,
			 struct mlb_err *err);

/* Mark arithmetic.  Uplink i gets mark_base + i * step, where step is the
 * lowest set bit of mask.  All marks must be non-zero and inside the mask
 * (so base is a multiple of step).  Fills marks[0..n). */
int mlb_assign_marks(uint32_t mark_base, uint32_t mark_mask, unsigned n,
		     uint32_t *marks, struct mlb_err *err);

/* Tables table_base .. table_base + n - 1 must avoid 0 (unspec) and
 * 253..255 (default, main, local) and not wrap.  Fills tables[0..n). */
int mlb_assign_tables(uint32_t table_base, unsigned n, uint32_t *tables,
		      struct mlb_err *err);

/* Rule priorities priority .. priority + 3 must fit below 32766 (main)
 * and above 0 (local). */
int mlb_check_priority(uint32_t priority, struct mlb_err *err);

#endif
