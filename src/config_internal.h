/* config_internal.h - what the configuration file's parser shares between
 * config.c (lines, sections, the whole file) and config_keys.c (what each
 * key means and how its value is read).  Not part of config.h: nothing
 * outside the parser needs it.
 */
#ifndef MLB_CONFIG_INTERNAL_H
#define MLB_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "config_file.h"
#include "error.h"

#define STICKY_MAX 86400
#define FILE_MAX (1 << 20)		/* bytes config_parse_file reads */

enum section { SECTION_NONE, SECTION_GLOBAL, SECTION_UPLINK, SECTION_POLICY };
#define IN(section) (1u << (section))

/* The keys of the file, in the order of keys[]. */
enum {
	K_NETNS, K_MARK_BASE, K_MARK_MASK, K_TABLE_BASE, K_PRIORITY,
	K_MASQUERADE, K_LAST_RESORT, K_BYPASS, K_PIN, K_STICKY,
	K_WEIGHT, K_GATEWAY, K_GATEWAY6, K_PROBE, K_PROBE_TYPE, K_INTERVAL,
	K_TIMEOUT, K_DOWN, K_UP, K_UPLINKS, K_RECORD_SOCKETS, K_LAN, K_BALANCE, K_FLOOR, K_ADAPT, K_COUNT
};

struct parser;

/* A key takes its whole value (set) or each item of a list (add). */
struct key {
	const char *name;
	unsigned sections;		/* IN(SECTION_*) */
	unsigned flags;			/* KEY_* */
	int (*set)(struct parser *p, const struct key *key, const char *value);
	int (*add)(struct parser *p, const struct key *key, char *item);
};
#define KEY_LIST 0x1		/* items separated by ',' or blanks; an
				 * indented line lists more */
#define KEY_REPEATS 0x2		/* may be given again: the items add up */

/* What the second pass keeps of a policy besides its mlb_config_policy. */
struct policy_extra {
	uint64_t listed;		/* uplinks named by uplinks= */
	uint64_t bare;			/* of those, named without a weight */
	bool sticky_given;
	unsigned dest_lines[MLB_STATE_MAX_DESTS];
};

struct parser {
	const char *name;		/* of the file, for messages */
	const char *next;		/* text not yet given to inih */
	unsigned line;			/* the line inih has now */
	bool collecting;		/* first pass: [uplink] sections only */
	struct mlb_config_file *cf;
	struct mlb_err *err;
	bool failed;

	/* The line inih has now, as it will read it. */
	bool wants_key;			/* inih must find a key on it */
	bool continues;			/* more of the last key's value */
	bool got_key;			/* and the handler was called */
	bool after_key;			/* a key since the last header */
	const struct key *last_key;

	enum section section;
	unsigned index;			/* of the uplink or policy */
	char label[300];		/* "[uplink eth0]" */
	unsigned *seen;			/* line of each key given in it */
	unsigned section_seen[K_COUNT];
	unsigned global_seen[K_COUNT];
	unsigned global_line;		/* of [global], 0: none yet */

	/* [global]'s destination rules and sticky, for every policy. */
	struct mlb_dest_spec dests[MLB_STATE_MAX_DESTS];
	unsigned dest_lines[MLB_STATE_MAX_DESTS];
	unsigned ndests;
	unsigned sticky_seconds;

	struct policy_extra policies[MLB_CONFIG_MAX_POLICIES];
};

/* Errors, "FILE:LINE: what"; only the first of the file is kept. */
int config_vfail_at(struct parser *p, unsigned line, const char *fmt,
		    va_list ap);

static inline int __attribute__((format(printf, 3, 4)))
fail_at(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_vfail_at(p, line, fmt, ap);
	va_end(ap);
	return -1;
}

/* An error on the line inih has now. */
static inline int __attribute__((format(printf, 2, 3)))
fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_vfail_at(p, p->line, fmt, ap);
	va_end(ap);
	return -1;
}

/* Pass on a message of options.c, its option names turned into keys. */
int config_relay(struct parser *p, unsigned line, const struct mlb_err *e);

/* The index of the [uplink NAME] section, or -1. */
int config_find_uplink(const struct mlb_config_file *cf, const char *name);

/* inih's handler (config_keys.c): a "key = value" line, or an indented
 * line that continues the last value.  Returns 0 on error. */
int config_on_key(void *user, const char *section, const char *name,
		  const char *value);

#endif
